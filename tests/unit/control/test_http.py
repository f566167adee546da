from gslb.control.http import HttpListener, text


def test_routes():
    listener = HttpListener({"/healthz": lambda: text(200, "ok\n")})
    assert listener.page("GET", "/healthz?verbose=1") == (200, "text/plain; charset=utf-8", b"ok\n")
    assert listener.page("POST", "/healthz")[0] == 405
    assert listener.page("GET", "/nosuch")[0] == 404
