import type { OutboundMail } from '../mail/relay.ts';
import type { DeviceManager } from '../devices/manager.ts';
/**
 * Services a command may need beyond the store: outbound mail, local delivery, the directory,
 * policies. Each area adds its own optional member here, built once in the composition root
 * (`easd serve`, or a test's server) and handed to every command through CommandContext.
 * A member left unset means the deployment has not configured that service; a command that
 * needs it answers with the status its spec gives for a server-side failure.
 */
export interface Services {
  /** Sends mail: local recipients delivered directly, the rest through the SMTP relay (src/mail/relay.ts). */
  outbound?: OutboundMail;
  /** Device management (policies, access, wipe; src/devices/manager.ts); one per store by default. */
  devices?: DeviceManager;
}
