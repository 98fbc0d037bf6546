"""Client authentication with bearer JWTs, as callers see it over HTTP and WebSockets."""
