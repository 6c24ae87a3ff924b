/**
 * The snapshelf command line: parse -> call one use-case -> print -> exit code.
 */
import { Command, CommanderError } from "commander";
import { EXIT_STATUS } from "../util/errors.js";
import { registerBuild } from "./build.js";
import { registerClientConfig } from "./client-config.js";
import { exitCodeFor, ignoreClosedOutput, layoutAt, type RunningVerb, reportError } from "./common.js";
import { registerExport } from "./export.js";
import { registerGc } from "./gc.js";
import { registerGenerations } from "./generations.js";
import { registerImport } from "./import.js";
import { registerInit } from "./init.js";
import { registerInstallService } from "./install-service.js";
import { registerKeygen } from "./keygen.js";
import { registerList } from "./list.js";
import { registerLog } from "./log.js";
import { registerManifest } from "./manifest.js";
import { registerNginxConfig } from "./nginx-config.js";
import { registerOverride } from "./override.js";
import { registerRelease } from "./release.js";
import { registerRemove } from "./remove.js";
import { registerServe } from "./serve.js";
import { registerStaging } from "./staging.js";
import { registerStatus } from "./status.js";
import { registerSync } from "./sync.js";
import { registerVerify } from "./verify.js";

ignoreClosedOutput();

/** The verb and store of this run, for error messages (set once commander has parsed them). */
let running: RunningVerb | undefined;

const program = new Command();
program
  .name("snapshelf")
  .description(
    "An offline Snap Store: import verified snaps, build a static tree, serve it to snapd devices.\n\n" +
      "Typical use on the offline host:\n" +
      "  snapshelf init --dir /srv/snaps --base-url http://store.internal:8000\n" +
      "  snapshelf import --dir /srv/snaps --release stable ./bundle/\n" +
      "  snapshelf build --dir /srv/snaps\n" +
      "  snapshelf serve --dir /srv/snaps --host 0.0.0.0 --port 8000",
  )
  .version("0.1.0")
  // the descriptions are written in lines of up to 100 characters: commander's default (80
  // columns, or the terminal's) would break each of them in two
  .configureHelp({ helpWidth: Math.max(process.stdout.columns ?? 0, 100) })
  .showHelpAfterError("(run with --help for usage)")
  .addHelpText(
    "after",
    "\nExit status: 0 done; 1 refused (bad input, a failed check, or the system said no: disk full,\n" +
      "permission denied); 2 usage (unknown verb or option, bad value); 3 unexpected (a bug: please report).",
  )
  .exitOverride()
  .hook("preAction", (_program, action) => {
    const opts = action.opts() as { dir?: string };
    const hasStore = action.options.some((o) => o.long === "--dir");
    running = { verb: action.name(), ...(hasStore ? { store: layoutAt(opts).root } : {}) };
  });

registerInit(program);
registerImport(program);
registerRelease(program);
registerBuild(program);
registerServe(program);
registerNginxConfig(program);
registerInstallService(program);
registerClientConfig(program);
registerList(program);
registerStatus(program);
registerSync(program);
registerOverride(program);
registerRemove(program);
registerGc(program);
registerGenerations(program);
registerStaging(program);
registerVerify(program);
registerLog(program);
registerExport(program);
registerManifest(program);
registerKeygen(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT_STATUS.ok : EXIT_STATUS.usage);
  }
  reportError(err, running);
  process.exit(exitCodeFor(err));
}
