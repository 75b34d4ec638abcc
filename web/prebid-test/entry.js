// Prebid.js as an npm dependency (Prebid's README, "Usage (as a npm dependency)"): the core, the userId module and
// the uid2 ID submodule only. Imported modules register themselves with Prebid.
import pbjs from 'prebid.js';
import 'prebid.js/modules/userId';
import 'prebid.js/modules/uid2IdSystem';

pbjs.processQueue();
