import { existsSync, lstatSync, readlinkSync } from "node:fs";
import type { SystemEntry } from "./bubblewrap-argv.js";

/** Top-level system folders a program needs; on merged-/usr systems they are symlinks into /usr. */
const SYSTEM_ROOTS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/**
 * The few `/etc` entries programs need: DNS and hosts, TLS roots, the dynamic linker's cache,
 * Debian's alternatives (many commands are symlinks through them), time zone. Not passwd,
 * shadow, or anything else of the host's accounts and services.
 */
const ETC_ENTRIES = [
  "/etc/alternatives",
  "/etc/ca-certificates",
  "/etc/ca-certificates.conf",
  "/etc/hosts",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/localtime",
  "/etc/nsswitch.conf",
  "/etc/resolv.conf",
  // The public roots and OpenSSL's settings; never /etc/ssl/private.
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
];

/** Reads how this host lays out its system folders, for `bubblewrapArgv`. */
export function hostSystemEntries(): SystemEntry[] {
  const entries: SystemEntry[] = [];
  for (const path of [...SYSTEM_ROOTS, ...ETC_ENTRIES]) {
    if (!existsSync(path)) continue;
    const stat = lstatSync(path);
    if (stat.isSymbolicLink() && SYSTEM_ROOTS.includes(path)) entries.push({ path, symlinkTo: readlinkSync(path) });
    else entries.push({ path });
  }
  return entries;
}
