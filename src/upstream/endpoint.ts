/** The public Snap Store API: what `export` asks unless told otherwise (no undici here: the CLI loads this at start-up). */
export const DEFAULT_UPSTREAM = "https://api.snapcraft.io";
