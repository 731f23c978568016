import type { Knex } from 'knex';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseParams, parseQuery } from '../../http/validate';
import { ListClassesQuery, ListSchoolsQuery, SchoolParams } from './schools.schemas';
import { type ClassRow, getSchool, listClasses, listSchoolsInScope, type SchoolRow } from './schools.service';

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

export function schoolRoutes(deps: { db: Knex }): RouteDef[] {
  return [
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
