"""The one compiled part: the HMAC kernel (gateway/crypto/_hmac_kernel.c, linked to OpenSSL).

Everything else is declared in pyproject.toml. The extension is optional: without a C compiler
or OpenSSL's headers the install still succeeds and pseudonyms are computed by Python's hmac
(same bytes, several times slower). The server's ``/readyz`` and the benchmarks say which one
is in use; CI sets GATEWAY_REQUIRE_NATIVE=1 so that a failed build fails the tests.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gateway.crypto._hmac_kernel",
            sources=["gateway/crypto/_hmac_kernel.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        )
    ]
)
