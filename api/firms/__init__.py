"""A firm's credit standing: line, exposure, score and live arrears."""
