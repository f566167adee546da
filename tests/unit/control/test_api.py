"""The control API's answers that need no running server."""

import re
from types import SimpleNamespace

import pytest

from gslb.control.api import CommandError, ControlApi


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("probe", {}, "probe IP"),
        ("show", {"what": "everything"}, "show what? one of: wideips, pools, members"),
        ("member", {"action": "toggle", "name": "x"}, "member disable|enable NAME"),
        ("explain", {"name": "www.x."}, "explain NAME --ldns IP"),
        ("shutdown", {}, "unknown command: shutdown"),
    ],
)
async def test_errors(command, args, message):
    api = ControlApi(SimpleNamespace())  # type: ignore[arg-type]  # none of them reads it
    with pytest.raises(CommandError, match=re.escape(message)):
        await api.handle(command, args)
