"""mitmproxy with only the addons the gate needs, instead of mitmdump.

mitmdump adds all of mitmproxy's default addons, and importing any one addon runs the
`mitmproxy.addons` package's `__init__`, which imports every one of them: flask for the
onboarding app, pyparsing for flow filters, ldap3 for proxy auth. Under gVisor that was 1.4 s of
the gate's 2.1 s import (measured); the gate uses seven of them. Fewer addons also means less
that could touch a flow: no onboarding app on mitm.it, no flow saving, no replay.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import logging
import signal
import sys
from collections.abc import Mapping
from typing import Any


def _bare_addons_package() -> None:
    """Register `mitmproxy.addons` without running its `__init__`, so that importing one addon
    imports only that addon. Its modules are found on the package's own path as usual."""
    if "mitmproxy.addons" in sys.modules:
        return
    mitmproxy = importlib.util.find_spec("mitmproxy")
    assert mitmproxy is not None and mitmproxy.submodule_search_locations
    locations = [f"{location}/addons" for location in mitmproxy.submodule_search_locations]
    spec = importlib.machinery.ModuleSpec("mitmproxy.addons", None, is_package=True)
    spec.submodule_search_locations = locations
    sys.modules["mitmproxy.addons"] = importlib.util.module_from_spec(spec)


def preload() -> None:
    """Import what `run` needs; the slow part of a start, so the caller does it while it waits."""
    _bare_addons_package()
    import mitmproxy.addons.core
    import mitmproxy.addons.disable_h2c
    import mitmproxy.addons.errorcheck
    import mitmproxy.addons.next_layer
    import mitmproxy.addons.proxyserver
    import mitmproxy.addons.tlsconfig
    import mitmproxy.master  # noqa: F401


def run(options: Mapping[str, Any], addon: object) -> None:
    """Serve until SIGTERM or SIGINT with `options` and `addon` after mitmproxy's own. Exits 1,
    as mitmdump does, if anything is logged as an error during start (a port in use, a bad CA)."""
    preload()
    from mitmproxy import master
    from mitmproxy import options as mitmproxy_options
    from mitmproxy.addons import core, disable_h2c, errorcheck, next_layer, proxyserver, tlsconfig

    async def serve() -> None:
        logging.getLogger().setLevel(logging.DEBUG)  # termlog filters by termlog_verbosity
        proxy = master.Master(mitmproxy_options.Options(), with_termlog=True)
        proxy.addons.add(
            core.Core(),
            disable_h2c.DisableH2C(),
            proxyserver.Proxyserver(),
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            errorcheck.ErrorCheck(),
            addon,
        )
        proxy.options.update(termlog_verbosity="error", **options)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, proxy.shutdown)
        # A client that goes away mid-write must not end the gate (mitmproxy#6744).
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        await proxy.run()

    asyncio.run(serve())
