"""The one compiled part: gslb/server/_batchio.c (recvmmsg/sendmmsg for UDP).

Optional: without a C compiler or Python's headers the build goes on without
it and gslbd serves UDP through the pure-Python loop (gslb/server/batchio.py).
Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gslb.server._batchio",
            ["gslb/server/_batchio.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        )
    ]
)
