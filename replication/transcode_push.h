#pragma once
// Push with gzip→zstd transcoding: the Direction a push policy with
// "compression": {"format": "zstd"} runs (MakeDirection picks it). It wraps
// the plain push direction and changes what moves, not how:
//
//  - Prepare: the plain plan; when it has gzip layers, the destination must
//    take zstd images (zstd_probe.h, once per destination, the verdict
//    kept: a destination known to refuse fails the task at once and no
//    transcode starts for it). The probe runs on a thread of its own while
//    the first transcodes and the task's checks run; the task's uploads and
//    manifests wait for its verdict (a refusal fails them saying so), but
//    a stream (below) may send up to 4 MiB of a copy before it: the link
//    would idle through the probe's round trips otherwise, and a refusal
//    then costs that much at most (the upload is cancelled). Then each
//    transcodable gzip layer
//    (zstd_manifest.h TranscodableLayers) of the image and its index
//    children is replaced by its zstd copy: at once when the store already
//    has the mapping (cache/transcode), else the transcode is queued
//    (TranscodeQueue, in upload order) and the blob job waits for it;
//  - Settled: with every mapping known the manifests were rewritten in
//    Prepare, so "already at the destination" compares the digest the
//    destination holds (the rewritten one); with transcodes still pending
//    the plain check runs on the source digest (a re-run after the first
//    finds the mapping and settles);
//  - CheckBlobs: zstd copies already known are HEADed like any blob; a job
//    waiting for its transcode counts as missing (its digest is not known
//    yet) and, with the link free, goes to the workers when its copy is
//    made (the smallest layers are transcoded first), so no worker sits on
//    a layer still compressing while a finished one waits;
//  - streaming: when the link would idle otherwise — nothing of this
//    execution is being sent and no blob (a finished copy included) waits
//    for a worker — the job whose copy is being made right now goes to a
//    worker before the copy is finished, and MoveBlob uploads the copy as
//    it grows (Transcoder::Follow, blob_sender.h StreamBlob: POST, PATCHes
//    of what is written, the final PUT ?digest= once it is made). Its
//    session and offset are kept under the gzip digest and level
//    (ProgressStore key "<gzip digest>/zstd-<level>"): the copy is made
//    byte-identical again, so a cut or a restart resumes at the offset the
//    destination holds; once the copy is recorded, the regular path moves
//    that record to the zstd digest and SendBlob continues it. Only when
//    the link would idle, because a streamed copy can still turn out not
//    worth it (the 1 % rule below, known at its end): then the upload is
//    cancelled (DELETE of the session), the task log says so, and the gzip
//    layer is sent — bytes that went for nothing, which the idle link
//    would not have carried anyway. The execution's progress counts the
//    layer's bytes once (the gzip upload adds only what goes past the
//    streamed bytes); OnTranscodeSaved only follows a zstd copy uploaded.
//    A corrupt gzip layer ends its stream: the session is cancelled, the
//    task fails with the reason, nothing is committed at the destination;
//  - the probe and streaming: a refusal still fails the task before any
//    big upload — what a stream sent before the verdict is bounded (4 MiB,
//    about what a 1 MB/s link carries during the probe) and cancelled;
//    everything else of the task waits for the verdict. Waiting for the
//    verdict before streaming too would keep the link idle for the probe's
//    round trips, the largest part of the wait left once copies stream;
//  - MoveBlob: waits for the job's transcode (a stop ends the wait), holds
//    the copy against GC while it is read, makes it again if GC took it
//    meanwhile (byte-identical), then SendBlob as for any blob — so a cut
//    upload resumes, a blob the destination has is skipped, a mount is used;
//    a corrupt gzip layer fails the blob, hence the task, with the reason;
//  - PutManifests: children then the image or index, rewritten over the
//    copies (Docker schema2 becomes OCI); the destination acknowledges the
//    rewritten digests, and the source digests are recorded as held too,
//    for capacity eviction (the destination has the image, in zstd).
// Layers that are not gzip (zstd, uncompressed, foreign, eStargz),
// artifacts that are not images, and layers whose zstd copy is not at least
// 1 % smaller than the gzip (already-compressed content) move as they are.
#include <memory>

#include "replication/direction.h"
#include "replication/transcode_queue.h"
#include "replication/zstd_level.h"

namespace pier::replication {

std::unique_ptr<Direction> MakeTranscodingPush(std::unique_ptr<Direction> plain, DirectionEnv env);

}  // namespace pier::replication
