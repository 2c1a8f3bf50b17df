"""One module per resource group."""
