"""Write how this host reaches its package indexes, for container builds to use as secrets.

    python3 scripts/host_package_config.py OUT_DIR

Container builds do not see the host's pip and apt configuration, its CA certificates or
its proxies. This reads them at run time (nothing about a machine is stored in the
repository) and writes, into OUT_DIR (owner-only):

- ``pip.conf``: the index settings of ``pip config list`` (files and ``PIP_*`` variables);
  indexes and links that are local paths are left out, since a build cannot see them;
- ``host-ca.pem``: the CA bundle the host's pip (or OpenSSL) trusts;
- ``apt.conf``: the ``Acquire::`` settings of ``apt-config dump`` that decide how apt reaches
  a mirror (proxies, TLS, release-date checks), pointing at ``host-ca.pem`` as mounted;
- ``apt-auth.conf``: the host's apt credentials, when it has any;
- ``debian-mirror`` / ``debian-security-mirror``: the Debian mirrors of the host's sources.

The Dockerfiles mount these as optional build secrets (ids are the file names without
their suffix; the CA at ``/run/secrets/host-ca``); a build given none uses its own defaults.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
from pathlib import Path

CA_IN_BUILD = "/run/secrets/host-ca"
# pip settings about reaching an index; everything else (constraints, caches) stays home.
PIP_KEYS = (
    "index-url",
    "extra-index-url",
    "find-links",
    "trusted-host",
    "proxy",
    "timeout",
    "default-timeout",
    "retries",
)
LOCATION_KEYS = ("index-url", "extra-index-url", "find-links")
APT_KEYS = re.compile(
    r"^Acquire::(Check-Valid-Until|Check-Date|Retries|ForceIPv4|ForceIPv6"
    r"|(http|https|ftp|socks)::(Proxy|Timeout|Pipeline-Depth|Verify-Peer|Verify-Host)[^ ]*) "
)


def run(*command: str) -> str:
    if shutil.which(command[0]) is None:
        return ""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def pip_settings(python: str) -> dict[str, str]:
    """Effective pip settings: files in pip's order, then ``PIP_*`` variables on top."""
    files: dict[str, str] = {}
    env: dict[str, str] = {}
    for line in run(python, "-m", "pip", "config", "list").splitlines():
        match = re.match(r"^(:env:|global|install|download)\.([a-z-]+)='(.*)'$", line)
        if match:
            (env if match.group(1) == ":env:" else files)[match.group(2)] = match.group(3)
    return files | env


def is_local(location: str) -> bool:
    return location.startswith(("file:", "/", ".")) or "://" not in location


def pip_conf(settings: dict[str, str], has_ca: bool) -> str:
    lines = ["[global]"]
    for key in PIP_KEYS:
        value = settings.get(key)
        if value is None:
            continue
        if key in LOCATION_KEYS:
            kept = [url for url in value.split() if not is_local(url)]
            skipped = [url for url in value.split() if is_local(url)]
            for url in skipped:
                print(f"host package config: pip {key} {url} is on this host's disk: not passed")
            if not kept:
                continue
            value = " ".join(kept)
        lines.append(f"{key} = {value}")
    if has_ca:
        lines.append(f"cert = {CA_IN_BUILD}")
    return "\n".join(lines) + "\n"


def ca_bundle(settings: dict[str, str]) -> Path | None:
    paths = ssl.get_default_verify_paths()
    for candidate in (
        settings.get("cert"),
        os.environ.get("SSL_CERT_FILE"),
        paths.cafile,
        paths.openssl_cafile,
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def apt_conf(has_ca: bool) -> str:
    lines = [line for line in run("apt-config", "dump").splitlines() if APT_KEYS.match(line)]
    if has_ca:
        lines.append(f'Acquire::https::CAInfo "{CA_IN_BUILD}";')
    return "\n".join(lines) + "\n" if lines else ""


def apt_auth() -> str:
    dump = run("apt-config", "dump")
    parts: list[Path] = []
    for key in ("Dir::Etc::netrc", "Dir::Etc::netrcparts"):
        match = re.search(rf'^{key} "([^"]*)";$', dump, re.MULTILINE)
        if match and match.group(1):
            path = Path(match.group(1))
            path = path if path.is_absolute() else Path("/etc/apt") / path
            parts.extend(sorted(path.glob("*.conf")) if path.is_dir() else [path])
    return "".join(part.read_text() for part in parts if part.is_file())


def debian_mirrors() -> tuple[str | None, str | None]:
    """The host's Debian archive and security mirrors, from the sources apt really uses."""
    fields = "$(LABEL)\t$(RELEASE)\t$(REPO_URI)"
    listing = run("apt-get", "indextargets", "--format", fields, "Identifier: Packages")
    archive = security = None
    for line in listing.splitlines():
        label, release, uri = [*line.split("\t"), "", ""][:3]
        if label == "Debian-Security" and security is None:
            security = uri
        elif label == "Debian" and "-" not in release and archive is None:
            archive = uri
    return archive, security


def write(path: Path, text: str) -> None:
    if text:
        path.write_text(text)
        path.chmod(0o600)


def main(out: Path, python: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    settings = pip_settings(python)
    ca = ca_bundle(settings)
    if ca is not None:
        write(out / "host-ca.pem", ca.read_text())
    write(out / "pip.conf", pip_conf(settings, ca is not None))
    write(out / "apt.conf", apt_conf(ca is not None))
    write(out / "apt-auth.conf", apt_auth())
    archive, security = debian_mirrors()
    write(out / "debian-mirror", f"{archive}\n" if archive else "")
    write(out / "debian-security-mirror", f"{security}\n" if security else "")
    print(f"host package config: {', '.join(sorted(p.name for p in out.iterdir()))}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: host_package_config.py OUT_DIR")
    main(Path(sys.argv[1]), os.environ.get("PYTHON", sys.executable))
