// The provenance engine: is digest D attested by this repository's build of this commit?
export { distinguishedName, signerIdentity, FULCIO_OIDS, type SignerIdentity } from "./certificate.js";
export {
  checkPolicy,
  workflowUri,
  GITHUB_ACTIONS_ISSUER,
  type ProvenancePolicy,
  type RunnerEnvironment,
} from "./policy.js";
export {
  chainProblems,
  githubRoot,
  parseTrustedRoots,
  publicGoodRoot,
  trustRoots,
  TrustedRootError,
  type TrustRoot,
} from "./roots.js";
export { verifyAttestations, verifyAttestationsOffThread, type Attester, type Verdict } from "./verify.js";
export { describeVerdict, ghVerifyCommand, runName, shellLine, type VerdictFormat } from "./describe.js";
export { verifyKeySigned, type KeyPolicy } from "./key.js";
