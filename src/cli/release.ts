import { type Command, InvalidArgumentError } from "commander";
import { checkArchOption } from "../model/option-checks.js";
import { addChangeOptions, layoutFrom, note, out, waitFrom } from "./common.js";
import { checkedChannels } from "./option-checks.js";

function revisionArg(v: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError("a revision is a positive integer");
  return Number(v);
}

export function registerRelease(program: Command): void {
  addChangeOptions(
    program
      .command("release")
      .summary("release a revision to channels")
      .description(
        "Release REVISION of NAME to each CHANNEL (track/risk[/branch], e.g. stable, 2.x/candidate,\n" +
          "latest/stable/hotfix-1), like `snapcraft release`. The release history is kept per\n" +
          "channel and architecture: refreshes walk it to respect epochs. Run `build` afterwards.",
      )
      .argument("<name>", "snap name")
      .argument("<revision>", "revision number", revisionArg)
      .argument("<channel...>", "channels to release to")
      .option("--arch <arch>", "release on this architecture only"),
  ).action(
    async (
      name: string,
      revision: number,
      channels: string[],
      opts: { dir?: string; arch?: string; wait?: number | true },
    ) => {
      const layout = layoutFrom(opts);
      if (opts.arch !== undefined) checkArchOption(opts.arch, { all: true });
      const { releaseRevision } = await import("../store/release.js");
      const events = await releaseRevision(layout, name, revision, await checkedChannels(layout, channels), {
        ...(opts.arch ? { arch: opts.arch } : {}),
        ...waitFrom(opts),
      });
      const chans = [...new Set(events.map((e) => e.channel))].join(", ");
      const arches = [...new Set(events.map((e) => e.arch))].join(", ");
      out(`released ${name} revision ${revision} to ${chans} (${arches})`);
    },
  );

  addChangeOptions(
    program
      .command("default-track")
      .summary("set the track risk-only requests resolve in")
      .description(
        "Set NAME's default track. Devices asking for a bare risk (`snap install NAME`) then get\n" +
          "TRACK/<risk> and are redirected to track it. `latest` resets it. Bundles carry the\n" +
          "publisher's choice; raw .snap imports do not.",
      )
      .argument("<name>", "snap name")
      .argument("<track>", "track name, or latest"),
  ).action(async (name: string, track: string, opts: { dir?: string; wait?: number | true }) => {
    const layout = layoutFrom(opts);
    const [{ setDefaultTrack }, { readRecords }, { emptyTrackWarning }] = await Promise.all([
      import("../store/release.js"),
      import("../store/state.js"),
      import("../ops/device-problems.js"),
    ]);
    await setDefaultTrack(layout, name, track, waitFrom(opts));
    out(`default track of ${name} is now ${track}`);
    const warning = emptyTrackWarning(await readRecords(layout), name, track);
    if (warning !== undefined) note(warning);
  });
}
