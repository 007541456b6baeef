"""The HTTP layer: the FastAPI app factory and its routes. Thin: each route reads the request,
hands it to the library (`Gateway.handle`, `Defense`) and relays the outcome."""
