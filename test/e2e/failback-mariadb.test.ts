/**
 * The full failback runbook end to end against a real MariaDB target (CockroachDB is the emulator over
 * a real PostgreSQL database): see test/helpers/failback-runbook.ts.
 */
import { fullRunbookScenario } from '../helpers/failback-runbook.js';

fullRunbookScenario('mariadb', 2002);
