"""The compiled parts: the HMAC kernel (gateway/crypto/_hmac_kernel.c, linked to OpenSSL), the
audit log's verification kernel (gateway/audit/_tlog_kernel.c, OpenSSL) and the set of persons
seen (gateway/dataplane/_number_set.c).

Everything else is declared in pyproject.toml. All three extensions are optional: without a C
compiler or OpenSSL's headers the install still succeeds, pseudonyms are computed by Python's
hmac (same bytes, several times slower) and the persons seen are kept by Arrow and numpy. The
server's ``/readyz`` and the benchmarks say which HMAC kernel is in use; CI sets
GATEWAY_REQUIRE_NATIVE=1 so that a failed build fails the tests.
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
        ),
        Extension(
            "gateway.audit._tlog_kernel",
            sources=["gateway/audit/_tlog_kernel.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        ),
        Extension(
            "gateway.dataplane._number_set",
            sources=["gateway/dataplane/_number_set.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        ),
    ]
)
