/**
 * Where users are homed when it is not this deployment: per user, or per mail domain (a user's
 * own entry wins over their domain's). The protocol side (HTTP 451 with X-MS-Location,
 * Autodiscover) is src/http/redirect.ts; this area only keeps URLs.
 */

export interface UserHome {
  userId: string;
  /** The user's primary address, lowercased. */
  email: string;
  url: string;
}

export interface DomainHome {
  /** Lowercased. */
  domain: string;
  url: string;
}

export interface Homes {
  users: UserHome[];
  domains: DomainHome[];
}

export interface HomesStore {
  /** Sets (a URL) or clears (null) the user's home. Throws StoreError 'not_found' for an unknown user, 'invalid' for an empty URL. */
  setUserHome(userId: string, url: string | null): Promise<void>;
  /** Sets (a URL) or clears (null) the home of every user of a mail domain. Throws 'invalid' for an empty domain or URL. */
  setDomainHome(domain: string, url: string | null): Promise<void>;
  /** Every home set (an admin sets them one by one, so the list is small), users ordered by email, domains by name. */
  listHomes(): Promise<Homes>;
}
