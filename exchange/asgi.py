"""The ASGI application built from the environment, for `uvicorn exchange.asgi:app`
and for `exchange serve --workers N` (each worker process imports this)."""

from exchange.app import create_app
from exchange.server import GuardedProtocol, quiet_disconnects
from exchange.settings import configuration

settings = configuration()
GuardedProtocol.read_timeout = settings.read_timeout
app = quiet_disconnects(create_app(settings))
