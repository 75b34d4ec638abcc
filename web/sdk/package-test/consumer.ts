// Type-checked (tsc --noEmit, strict) in the fresh npm project by run.mjs: the package's declarations, through its
// "exports" map, as a TypeScript site sees them.
import { Uid2Sdk, createUid2Sdk, EventType, VERSION, isValidIdentity, type Identity, type SdkOptions } from '@uid2-dotnet/uid2-sdk';

const options: SdkOptions = { baseUrl: 'https://operator.example.com' };
const instance: Uid2Sdk = createUid2Sdk();
const version: string = VERSION;
function onIdentity(identity: Identity): string {
  return identity.advertising_token;
}
const loaded: EventType = EventType.SdkLoaded;
export { options, instance, version, onIdentity, loaded, isValidIdentity };
