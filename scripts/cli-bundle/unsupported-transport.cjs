// Stands in, in the CLI bundle only, for dockerode's optional transports that Airlock never uses:
// ssh2 (for ssh:// DOCKER_HOST, which Airlock refuses) and gRPC (for BuildKit sessions). Loading
// them costs a third of the CLI's start-up. Any use fails loudly instead of silently.
'use strict';
module.exports = new Proxy({}, {
  get(_target, name) {
    if (name === '__esModule') return false;
    return function unsupportedTransport() {
      throw new Error(`airlock: ${String(name)} is not available in the CLI bundle (ssh:// engines and BuildKit sessions are not supported)`);
    };
  },
});
