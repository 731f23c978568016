import { timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { RouteDef } from '../../http/routes';

/**
 * A stand-in for the population registry's relation lookup, mounted under `/sim/registry` with the
 * other simulators. Its citizens are the people of the demo data; their recorded fathers, mothers
 * and legal guardians are its own table `sim_registry_relations` (seeded with the demo families).
 * Its errors are its own (`{ "error": ... }`), not our envelope: it plays an outside system.
 */
function sameKey(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function registrySimulatorRoutes(deps: { db: Knex; apiKey: string }): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/sim/registry/v1/citizens/:personal_id/relations',
      auth: 'public',
      handler: async (req, res) => {
        if (!sameKey(req.get('x-api-key'), deps.apiKey)) {
          res.status(401).json({ error: 'invalid_api_key' });
          return;
        }
        const personalId = String(req.params.personal_id);
        if (!/^\d{12}$/.test(personalId)) {
          res.status(400).json({ error: 'invalid_personal_id' });
          return;
        }
        const citizen = await deps.db('people').where({ personal_id: personalId }).first<{ personal_id: string } | undefined>('personal_id');
        if (!citizen) {
          res.status(404).json({ error: 'citizen_not_found' });
          return;
        }
        const relations = await deps.db('sim_registry_relations')
          .where({ student_personal_id: personalId })
          .orderBy('relation')
          .select<{ relation: string; personal_id: string; full_name: string; date_of_birth: string; gender: string }[]>('relation', 'personal_id', 'full_name', 'date_of_birth', 'gender');
        res.json({ citizen: { personal_id: personalId }, relations });
      },
    },
  ];
}
