import type { Knex } from 'knex';
import { verifyRollups } from '../../src/modules/reports/rollups.service';

/**
 * The report roll-ups the triggers keep equal their recomputation from the raw history (every
 * table, no row differs). Money tests call it after each test, so every money path is covered.
 */
export async function expectRollupsMatchHistory(db: Knex, schoolIds: string[] | null = null): Promise<void> {
  expect(await verifyRollups(db, schoolIds)).toEqual({ report_fee_item_months: 0, report_collection_months: 0, report_school_months: 0, report_receipt_months: 0 });
}
