"""Charts drawn as inline SVG: one look for the finance console and the model evaluation report.

:mod:`credit.charts.svg` draws line, bar and horizontal bar charts from data on the server;
their stylesheet is :data:`~credit.charts.svg.CHART_CSS` (``static/charts.css``).
"""
