/** The instance metadata service: see ./service.ts (HTTP over per-instance abstract sockets), ./tree.ts (what is served), ./view.ts (from what). */
export { type ImdsService, type ImdsServiceOptions, TOKEN_HEADER, TOKEN_PATH, TOKEN_TTL_HEADER, createImdsService, imdsNamespaceOf } from './service.js';
export { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS } from './token.js';
export { METADATA_VERSIONS, identityDocument } from './tree.js';
export {
  type ImdsAttachment,
  type ImdsInstanceView,
  type ImdsNetworkFacts,
  type ImdsOptions,
  type ImdsPublicKey,
  type ImdsSecurityGroup,
  type ImdsViewDeps,
  imdsViewOf,
} from './view.js';
