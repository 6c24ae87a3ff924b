/**
 * Where `snapshelf serve` listens behind nginx unless told otherwise: the
 * nginx configuration proxies to it, and `install-service --nginx` starts it
 * there. A module of constants only, so `--help` names them without loading
 * the generator.
 */

export const SHIM_PORT_BEHIND_NGINX = 8001;

export const DEFAULT_UPSTREAM = `http://127.0.0.1:${SHIM_PORT_BEHIND_NGINX}`;
