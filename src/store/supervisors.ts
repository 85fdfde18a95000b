// Registered supervisors, kept in the store so that every coordinator
// sharing it (Redis mode) sees the same pool. A registration is a lease:
// the supervisor renews it by registering again, and it disappears when
// the lease runs out.

export interface SupervisorRegistration {
  /** Unique name; re-registering under it replaces the entry. */
  name: string;
  /** Base URL of its SupervisorService. */
  url: string;
  /** Runner name -> capacity, as the supervisor announced it. */
  runners: Record<string, number>;
  labels: Record<string, string>;
  /** When the lease runs out (ms since the epoch, the registering coordinator's clock). */
  expiresAt: number;
}

export interface SupervisorRegistry {
  /** Adds or renews a registration. */
  register(registration: SupervisorRegistration): Promise<void>;
  /** Registrations whose lease has not run out at `now`, by name. */
  list(now: number): Promise<SupervisorRegistration[]>;
  /** Forgets a registration at once. */
  remove(name: string): Promise<void>;
}

export function createMemorySupervisorRegistry(): SupervisorRegistry {
  const entries = new Map<string, SupervisorRegistration>();
  return {
    async register(registration) {
      entries.set(registration.name, structuredClone(registration));
    },
    async list(now) {
      const live: SupervisorRegistration[] = [];
      for (const [name, r] of entries) {
        if (r.expiresAt <= now) entries.delete(name);
        else live.push(structuredClone(r));
      }
      return live.sort((a, b) => a.name.localeCompare(b.name));
    },
    async remove(name) {
      entries.delete(name);
    },
  };
}
