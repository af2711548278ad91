"""Query functions behind the operators' dashboard panels, one module per panel."""
