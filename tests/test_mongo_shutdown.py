"""A server on MONGO_URI stops cleanly: no traceback from the rate limiter's MongoDB client."""
import pytest
import requests

from tests.live_server import GunicornServer
from tests.mongo_wire import mongo_wire, wire_env  # noqa: F401  (mongo_wire is a fixture)

pytestmark = pytest.mark.e2e


def test_a_mongodb_server_with_several_workers_stops_without_a_traceback(mongo_wire, tmp_path):  # noqa: F811
    server = GunicornServer(tmp_path)
    server.env.update(wire_env(mongo_wire), WEB_CONCURRENCY="2")
    try:
        server.start()
        # One worker uses its login counters, the other may never have: both used to print
        # an ImportError traceback from limits' MongoDBStorage.__del__ during teardown.
        response = requests.post(server.url("/api/login"), json={"username": "nobody", "password": "password123"},
                                 timeout=10)
        assert response.status_code == 401
        assert server.stop() == 0
    finally:
        server.kill()
    stderr = server.stderr_path.read_text(errors="replace")
    assert "Shutting down: Master" in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr[-3000:]
