import type { Knex } from 'knex';
import type { Clock } from '../../lib/clock';
import { BANKS } from '../../lib/banks';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import { CollectionAccountBody, ListClassesQuery, ListSchoolsQuery, SchoolParams } from './schools.schemas';
import { addCollectionAccount, type ClassRow, type CollectionAccountRow, getSchool, listClasses, listCollectionAccounts, listSchoolsInScope, type SchoolRow } from './schools.service';

export function renderSchool(s: SchoolRow) {
  return {
    id: s.id,
    code: s.code,
    name: s.name,
    level: s.level,
    tax_code: s.tax_code,
    address: s.address,
    district: { id: s.district_id, name: s.district_name },
    city: { id: s.city_id, name: s.city_name },
  };
}

export function renderClass(c: ClassRow) {
  return { id: c.id, school_id: c.school_id, academic_year: c.academic_year, grade: c.grade, name: c.name, student_count: c.student_count };
}

export function renderCollectionAccount(a: CollectionAccountRow) {
  return {
    id: a.id,
    school_id: a.school_id,
    bank_bin: a.bank_bin,
    bank_name: BANKS.get(a.bank_bin)?.name ?? null,
    account_number: a.account_number,
    account_name: a.account_name,
    is_default: a.is_default,
  };
}

export function schoolRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/v1/schools/:school_id/collection-accounts',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const rows = await listCollectionAccounts(deps.db, principalOf(res), school_id);
        res.json({ data: rows.map(renderCollectionAccount), has_more: false });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/collection-accounts',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(CollectionAccountBody, req);
        const row = await addCollectionAccount(deps.db, principalOf(res), school_id, { bankBin: b.bank_bin, accountNumber: b.account_number, accountName: b.account_name, isDefault: b.is_default }, deps.clock.now());
        res.status(201).json(renderCollectionAccount(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools',
      auth: 'user',
      handler: async (req, res) => {
        const query = parseQuery(ListSchoolsQuery, req);
        const page = await listSchoolsInScope(deps.db, principalOf(res), { limit: query.limit, startingAfter: query.starting_after, districtId: query.district_id });
        res.json({ data: page.data.map(renderSchool), has_more: page.has_more });
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        res.json(renderSchool(await getSchool(deps.db, principalOf(res), school_id)));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/classes',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const query = parseQuery(ListClassesQuery, req);
        const page = await listClasses(deps.db, principalOf(res), school_id, { limit: query.limit, startingAfter: query.starting_after, academicYear: query.academic_year });
        res.json({ data: page.data.map(renderClass), has_more: page.has_more });
      },
    },
  ];
}
