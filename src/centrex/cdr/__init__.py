"""Call detail records as the call engine writes them (``writer``); the API reads them in ``resources/cdrs``."""
