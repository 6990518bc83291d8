"""The ASGI application built from the environment, for `uvicorn exchange.asgi:app`
and for `exchange serve --workers N` (each worker process imports this)."""

from exchange.app import create_app
from exchange.settings import load_settings

app = create_app(load_settings())
