/**
 * The engine helpers the steps use (bearer token, staging inspection and targeted clean-up), imported
 * from the engine's composition root only: steps never reach into the engine's modules.
 */
export { cleanStaging, inspectStaging, mintToken, writeTokenFile } from '../../replicator/index.js';
