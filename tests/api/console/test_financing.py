"""The console's financing page and the firm page's financing section, on one financing of each product
(financings.py works their amounts out by hand)."""

from __future__ import annotations

import pytest

from credit import clock
from tests.api.console.financings import Financings, seed_financings
from tests.api.console.pages import parse


@pytest.fixture
def seeded(console_app, finance) -> Financings:  # noqa: ANN001
    with console_app.state.sessionmaker() as session:
        seeded = seed_financings(session, clock.now())
        session.expunge_all()
    return seeded


def _cells(table) -> dict[str, list[str]]:  # noqa: ANN001
    return {tr.attrs.get("data-product") or tr.attrs.get("data-figure") or tr.attrs.get("data-firm-id"):
            [cell.text for cell in tr.find_all("td")] for tr in table.find_all("tr") if tr.find_all("td")}


def test_the_financing_page_shows_the_book_by_product_debtor_trouble_and_dilution(finance, seeded) -> None:
    response = finance.get("/console/financing")
    assert response.status_code == 200, response.text
    page = parse(response.text)
    products = _cells(page.find("table", class_="products"))
    # open, approved not paid out, outstanding, fees owed, exposure, paid out all time, written off
    assert products["order"] == ["1", "4,000.00", "0.00", "0.00", "4,000.00", "0.00", "0.00"]
    assert products["receivable"] == ["1", "0.00", "5,000.00", "0.00", "5,000.00", "8,000.00", "0.00"]
    assert products["loan"] == ["1", "0.00", "2,500.00", "0.00", "2,500.00", "2,500.00", "0.00"]
    assert products["all"] == ["3", "4,000.00", "7,500.00", "0.00", "11,500.00", "10,500.00", "0.00"]

    debtors = _cells(page.find("table", class_="debtors"))
    order_buyer, invoice_debtor = seeded.order.buyer_id, seeded.receivable.buyer_id
    if order_buyer == invoice_debtor:
        assert debtors[str(order_buyer)][1:4] == ["2", "9,000.00", "78.3%"]  # of the 11,500.00 book
    else:
        assert list(debtors) == [str(invoice_debtor), str(order_buyer)]  # most exposure first
        # share of the whole book's 11,500.00 exposure (the loan has no debtor)
        assert debtors[str(invoice_debtor)][1:4] == ["1", "5,000.00", "43.5%"]
        assert debtors[str(order_buyer)][1:4] == ["1", "4,000.00", "34.8%"]
    dilution = _cells(page.find("table", class_="dilution"))
    assert (dilution["financings"], dilution["diluted_financings"], dilution["face"], dilution["reserve"],
            dilution["diluted"], dilution["rate"]) == (["1"], ["1"], ["EUR 10,000.00"], ["EUR 2,000.00"],
                                                       ["EUR 500.00"], ["5.00%"])
    troubled = page.find("table", class_="troubled").find("tbody").find_all("tr")
    assert [tr.attrs["data-financing-id"] for tr in troubled] == [str(seeded.loan.financing_id)]
    for kind, financing in (("order", seeded.order), ("receivable", seeded.receivable), ("loan", seeded.loan)):
        rows = page.find("table", class_=f"book-{kind}").find("tbody").find_all("tr")
        assert [(tr.attrs["data-financing-id"], tr.attrs["data-kind"]) for tr in rows] == [
            (str(financing.financing_id), kind)]
    receivable = page.find("tr", data_financing_id=str(seeded.receivable.financing_id))
    assert [td.text for td in receivable.find_all("td")][3:] == [
        "paid out non-recourse", clock.today().isoformat(), "—", "8,000.00", "5,000.00", "0.00", "5,000.00"]

    exported = finance.get("/console/financing.csv")
    assert exported.status_code == 200 and exported.text.count("\r\n") == 4  # a header and three financings


def test_the_firm_page_shows_its_financings_as_supplier_and_as_debtor(finance, seeded) -> None:
    supplier = seeded.loan.supplier_id  # the order's supplier borrowed the loan too
    page = parse(finance.get(f"/console/firms/{supplier}").text)
    section = page.find("section", id="financing")
    rows = {tr.attrs["data-exposure"]: tr.find("td").text for tr in section.find_all("tr") if "data-exposure" in
            tr.attrs}
    assert (rows["order_as_supplier"], rows["loan"]) == ("4,000.00", "2,500.00")
    advanced = section.find("table", class_="as-supplier").find("tbody").find_all("tr")
    assert sorted(tr.attrs["data-kind"] for tr in advanced) == ["loan", "order"]

    debtor = parse(finance.get(f"/console/firms/{seeded.receivable.buyer_id}").text).find("section", id="financing")
    owed = debtor.find("table", class_="as-debtor").find("tbody").find_all("tr")
    assert str(seeded.receivable.financing_id) in [tr.attrs["data-financing-id"] for tr in owed]
