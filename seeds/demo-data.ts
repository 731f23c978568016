import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { centuryGenderDigit } from '../src/lib/personal-id';
import { generateReceiptKeyPair } from '../src/modules/receipts/receipt-signing';

/**
 * Demo data for Ho Chi Minh City: three districts from the plans we serve, six schools, classes
 * for school year 2026-2027 with 2,376 students (born 2012-2020), an admin and an accountant per
 * school, a finance officer per district and one for the city. Deterministic (a seeded PRNG), so
 * the identities printed in the README always exist. Names and numbers are fictitious.
 */
export const DEMO_CITY = { code: 'HCM', name: 'Thành phố Hồ Chí Minh' };

export const DEMO_DISTRICTS = [
  { code: 'Q12', name: 'Quận 12' },
  { code: 'GV', name: 'Quận Gò Vấp' },
  { code: 'NB', name: 'Huyện Nhà Bè' },
] as const;

export const DEMO_ACADEMIC_YEARS = [
  { code: '2025-2026', starts_on: '2025-09-05', ends_on: '2026-05-31' },
  { code: '2026-2027', starts_on: '2026-09-05', ends_on: '2027-05-31' },
] as const;
export const CURRENT_ACADEMIC_YEAR = '2026-2027';

export interface DemoSchool {
  code: string;
  name: string;
  level: 'primary' | 'lower_secondary';
  district: (typeof DEMO_DISTRICTS)[number]['code'];
  taxCode: string;
  address: string;
}

export const DEMO_SCHOOLS: DemoSchool[] = [
  { code: 'NB-THCS-NBK', name: 'Trường THCS Nguyễn Bỉnh Khiêm', level: 'lower_secondary', district: 'NB', taxCode: '0312000101', address: '12 Nguyễn Bình, Xã Phú Xuân, Huyện Nhà Bè, TP. Hồ Chí Minh' },
  { code: 'NB-TH-LVL', name: 'Trường Tiểu học Lê Văn Lương', level: 'primary', district: 'NB', taxCode: '0312000102', address: '45 Lê Văn Lương, Xã Phước Kiển, Huyện Nhà Bè, TP. Hồ Chí Minh' },
  { code: 'Q12-THCS-NAT', name: 'Trường THCS Nguyễn Ảnh Thủ', level: 'lower_secondary', district: 'Q12', taxCode: '0312000103', address: '88 Nguyễn Ảnh Thủ, Phường Hiệp Thành, Quận 12, TP. Hồ Chí Minh' },
  { code: 'Q12-TH-NT', name: 'Trường Tiểu học Nguyễn Trãi', level: 'primary', district: 'Q12', taxCode: '0312000104', address: '21 Tô Ký, Phường Tân Chánh Hiệp, Quận 12, TP. Hồ Chí Minh' },
  { code: 'GV-THCS-PTH', name: 'Trường THCS Phan Tây Hồ', level: 'lower_secondary', district: 'GV', taxCode: '0312000105', address: '6 Phan Tây Hồ, Phường 7, Quận Gò Vấp, TP. Hồ Chí Minh' },
  { code: 'GV-TH-LQD', name: 'Trường Tiểu học Lê Quý Đôn', level: 'primary', district: 'GV', taxCode: '0312000106', address: '30 Quang Trung, Phường 10, Quận Gò Vấp, TP. Hồ Chí Minh' },
];

export interface DemoPerson {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'male' | 'female';
}

/** Adults' personal IDs: 079, century/gender digit, birth year, then 0001nn (admin), 0002nn (accountant), 0003nn (finance). */
function adult(kind: number, n: number, fullName: string, dateOfBirth: string, gender: 'male' | 'female'): DemoPerson {
  const year = Number(dateOfBirth.slice(0, 4));
  const personalId = `079${centuryGenderDigit(year, gender)}${String(year).slice(2)}000${kind}${String(n).padStart(2, '0')}`;
  return { personalId, fullName, dateOfBirth, gender };
}

export const DEMO_SCHOOL_ADMINS: DemoPerson[] = [
  adult(1, 1, 'Trần Văn Hùng', '1975-03-14', 'male'),
  adult(1, 2, 'Nguyễn Thị Thu Hà', '1978-07-02', 'female'),
  adult(1, 3, 'Lê Minh Tuấn', '1980-11-20', 'male'),
  adult(1, 4, 'Phạm Thị Ngọc Lan', '1982-01-09', 'female'),
  adult(1, 5, 'Võ Thanh Sơn', '1976-05-30', 'male'),
  adult(1, 6, 'Huỳnh Thị Mỹ Dung', '1979-09-17', 'female'),
];

export const DEMO_ACCOUNTANTS: DemoPerson[] = [
  adult(2, 1, 'Đặng Thị Hồng Nhung', '1988-04-11', 'female'),
  adult(2, 2, 'Bùi Quốc Khánh', '1990-08-25', 'male'),
  adult(2, 3, 'Đỗ Thị Kim Oanh', '1987-12-03', 'female'),
  adult(2, 4, 'Hồ Văn Phúc', '1985-06-19', 'male'),
  adult(2, 5, 'Ngô Thị Bích Ngọc', '1991-02-27', 'female'),
  adult(2, 6, 'Dương Minh Trí', '1989-10-08', 'male'),
];

export const DEMO_FINANCE_OFFICERS: { person: DemoPerson; district: (typeof DEMO_DISTRICTS)[number]['code'] | null }[] = [
  { person: adult(3, 1, 'Lý Thị Thanh Tâm', '1983-03-21', 'female'), district: 'Q12' },
  { person: adult(3, 2, 'Trương Công Danh', '1981-07-15', 'male'), district: 'GV' },
  { person: adult(3, 3, 'Mai Thị Xuân Hương', '1984-12-01', 'female'), district: 'NB' },
  { person: adult(3, 4, 'Phan Đức Thịnh', '1977-04-04', 'male'), district: null },
];

const FAMILY = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Phan', 'Vũ', 'Võ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ', 'Ngô', 'Dương', 'Lý'];
const MIDDLE_MALE = ['Văn', 'Minh', 'Gia', 'Quốc', 'Đức', 'Hoàng', 'Anh', 'Thành', 'Bảo', 'Hữu'];
const MIDDLE_FEMALE = ['Thị', 'Ngọc', 'Minh', 'Gia', 'Bảo', 'Thanh', 'Khánh', 'Thu', 'Mỹ', 'Phương'];
const GIVEN_MALE = ['An', 'Bình', 'Dũng', 'Khoa', 'Nam', 'Phúc', 'Quân', 'Trí', 'Huy', 'Khang', 'Long', 'Minh', 'Nhân', 'Phát', 'Sơn', 'Tài', 'Thịnh', 'Vinh', 'Đạt', 'Hiếu'];
const GIVEN_FEMALE = ['Anh', 'Châu', 'Hà', 'Lan', 'Linh', 'Mai', 'Ngân', 'Nhi', 'Thảo', 'Trang', 'Vy', 'Yến', 'Hân', 'Quỳnh', 'Tiên', 'Uyên', 'Ánh', 'Diệp', 'Hương', 'Trâm'];

/** mulberry32: a tiny deterministic PRNG so every run seeds the same people. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoClass {
  schoolCode: string;
  grade: number;
  name: string;
  students: DemoPerson[];
}

export const STUDENTS_PER_CLASS = 36;

/** Classes of 2026-2027: primary grades 1-5 with two classes each, lower secondary 6-9 with three. */
export function buildDemoClasses(): DemoClass[] {
  const random = prng(20261122);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  let serial = 10001;
  const classes: DemoClass[] = [];
  for (const school of DEMO_SCHOOLS) {
    const grades = school.level === 'primary' ? [1, 2, 3, 4, 5] : [6, 7, 8, 9];
    const perGrade = school.level === 'primary' ? 2 : 3;
    for (const grade of grades) {
      // Grade 1 in 2026-2027 is born in 2020; grade 9 in 2012.
      const birthYear = 2021 - grade;
      for (let k = 1; k <= perGrade; k++) {
        const students: DemoPerson[] = [];
        for (let s = 0; s < STUDENTS_PER_CLASS; s++) {
          const gender = random() < 0.5 ? 'male' : 'female';
          const fullName = gender === 'male'
            ? `${pick(FAMILY)} ${pick(MIDDLE_MALE)} ${pick(GIVEN_MALE)}`
            : `${pick(FAMILY)} ${pick(MIDDLE_FEMALE)} ${pick(GIVEN_FEMALE)}`;
          const dayOfYear = Math.floor(random() * 365);
          const dob = new Date(Date.UTC(birthYear, 0, 1) + dayOfYear * 86400000).toISOString().slice(0, 10);
          const personalId = `079${centuryGenderDigit(birthYear, gender)}${String(birthYear).slice(2)}${String(serial++).padStart(6, '0')}`;
          students.push({ personalId, fullName, dateOfBirth: dob, gender });
        }
        classes.push({ schoolCode: school.code, grade, name: `${grade}/${k}`, students });
      }
    }
  }
  return classes;
}

export interface DemoRelative extends DemoPerson {
  relation: 'father' | 'mother';
}

/** A demo family: the parents the population registry records for one or more demo students. */
export interface DemoFamily {
  father: DemoPerson;
  mother: DemoPerson;
  /** Personal IDs of the children, eldest first. */
  children: string[];
  schoolCode: string;
}

/**
 * The families the simulated population registry knows, consistent with the demo students: every
 * student has a father and a mother; some share them with a sibling
 * in another grade of the same school. Parents' personal IDs use serials from 500001, which no
 * other demo person uses. Deterministic (its own PRNG), so the students themselves do not change.
 */
export function buildDemoFamilies(classes: DemoClass[] = buildDemoClasses()): DemoFamily[] {
  const random = prng(20261201);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  let serial = 500001;
  const parent = (gender: 'male' | 'female', family: string): DemoPerson => {
    const year = 1975 + Math.floor(random() * 18);
    const dob = new Date(Date.UTC(year, 0, 1) + Math.floor(random() * 365) * 86400000).toISOString().slice(0, 10);
    const fullName = gender === 'male' ? `${family} ${pick(MIDDLE_MALE)} ${pick(GIVEN_MALE)}` : `${family} ${pick(MIDDLE_FEMALE)} ${pick(GIVEN_FEMALE)}`;
    return { personalId: `079${centuryGenderDigit(year, gender)}${String(year).slice(2)}${String(serial++).padStart(6, '0')}`, fullName, dateOfBirth: dob, gender };
  };
  const families: DemoFamily[] = [];
  for (const school of DEMO_SCHOOLS) {
    const schoolFamilies: { family: DemoFamily; grade: number; familyName: string }[] = [];
    for (const c of classes.filter((k) => k.schoolCode === school.code)) {
      for (const student of c.students) {
        // A sibling carries the father's family name, as Vietnamese children do.
        const familyName = student.fullName.split(' ')[0]!;
        const elder = random() < 0.125 ? schoolFamilies.filter((f) => f.grade < c.grade && f.family.children.length === 1 && f.familyName === familyName) : [];
        if (elder.length > 0) {
          const f = elder[Math.floor(random() * elder.length)]!;
          f.family.children.push(student.personalId);
          continue;
        }
        const family: DemoFamily = { father: parent('male', familyName), mother: parent('female', pick(FAMILY)), children: [student.personalId], schoolCode: school.code };
        schoolFamilies.push({ family, grade: c.grade, familyName });
        families.push(family);
      }
    }
  }
  // Eldest first: classes were walked from the lowest grade (youngest) up.
  for (const f of families) f.children.reverse();
  return families;
}

/** Parents with two children at a school, who can sign in with the simulated VNeID (listed in the README). */
export function demoGuardians(families: DemoFamily[] = buildDemoFamilies()): DemoFamily[] {
  return DEMO_SCHOOLS.slice(0, 2).map((school) => families.find((f) => f.schoolCode === school.code && f.children.length === 2)!);
}

function personRow(p: DemoPerson) {
  return { personal_id: p.personalId, full_name: p.fullName, date_of_birth: p.dateOfBirth, gender: p.gender };
}

async function insertPeople(trx: Knex.Transaction, people: DemoPerson[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let i = 0; i < people.length; i += 500) {
    const chunk = people.slice(i, i + 500);
    await trx('people').insert(chunk.map(personRow)).onConflict('personal_id').ignore();
    const rows = await trx('people').whereIn('personal_id', chunk.map((p) => p.personalId)).select<{ id: string; personal_id: string }[]>('id', 'personal_id');
    for (const r of rows) ids.set(r.personal_id, r.id);
  }
  return ids;
}

/**
 * Seeds the demo data once: if the demo city exists, nothing happens. Runs in one transaction, so
 * a failed seed leaves nothing half-written. Returns whether it seeded.
 */
export async function seedDemoData(db: Knex): Promise<boolean> {
  return db.transaction(async (trx) => {
    // Serialize concurrent first starts (several replicas booting together).
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', ['seed-demo-data']);
    if (await trx('cities').where({ code: DEMO_CITY.code }).first()) return false;

    const [city] = await trx('cities').insert(DEMO_CITY).returning<{ id: string }[]>('id');
    const districtIds = new Map<string, string>();
    for (const d of DEMO_DISTRICTS) {
      const [row] = await trx('districts').insert({ city_id: city!.id, code: d.code, name: d.name }).returning<{ id: string }[]>('id');
      districtIds.set(d.code, row!.id);
    }
    const yearIds = new Map<string, string>();
    for (const y of DEMO_ACADEMIC_YEARS) {
      await trx('academic_years').insert(y).onConflict('code').ignore();
      const row = await trx('academic_years').where({ code: y.code }).first<{ id: string }>('id');
      yearIds.set(y.code, row.id);
    }
    const schoolIds = new Map<string, string>();
    for (const s of DEMO_SCHOOLS) {
      const [row] = await trx('schools')
        .insert({ code: s.code, name: s.name, level: s.level, district_id: districtIds.get(s.district), tax_code: s.taxCode, address: s.address })
        .returning<{ id: string }[]>('id');
      schoolIds.set(s.code, row!.id);
    }

    const classes = buildDemoClasses();
    const adults = [...DEMO_SCHOOL_ADMINS, ...DEMO_ACCOUNTANTS, ...DEMO_FINANCE_OFFICERS.map((f) => f.person)];
    const personIds = await insertPeople(trx, [...adults, ...classes.flatMap((c) => c.students)]);

    const staffRows = DEMO_SCHOOLS.flatMap((s, i) => [
      { school_id: schoolIds.get(s.code), person_id: personIds.get(DEMO_SCHOOL_ADMINS[i]!.personalId), role: 'school_admin' },
      { school_id: schoolIds.get(s.code), person_id: personIds.get(DEMO_ACCOUNTANTS[i]!.personalId), role: 'accountant' },
    ]);
    await trx('staff_assignments').insert(staffRows);
    await trx('finance_scopes').insert(
      DEMO_FINANCE_OFFICERS.map((f) => ({ person_id: personIds.get(f.person.personalId), city_id: city!.id, district_id: f.district ? districtIds.get(f.district) : null })),
    );

    const yearId = yearIds.get(CURRENT_ACADEMIC_YEAR);
    const startsOn = DEMO_ACADEMIC_YEARS.find((y) => y.code === CURRENT_ACADEMIC_YEAR)!.starts_on;
    for (const c of classes) {
      const [row] = await trx('classes')
        .insert({ school_id: schoolIds.get(c.schoolCode), academic_year_id: yearId, grade: c.grade, name: c.name })
        .returning<{ id: string }[]>('id');
      await trx('enrollments').insert(
        c.students.map((s) => ({ school_id: schoolIds.get(c.schoolCode), class_id: row!.id, person_id: personIds.get(s.personalId), enrolled_on: startsOn })),
      );
    }
    await seedDemoFees(trx, schoolIds, yearId!);
    await seedRegistryFamilies(trx, classes);
    return true;
  });
}

/**
 * The simulated population registry's records (its own table) for every demo student, and the
 * demo guardians as people, so they can sign in with the simulated VNeID and link themselves.
 */
async function seedRegistryFamilies(trx: Knex.Transaction, classes: DemoClass[]): Promise<void> {
  const families = buildDemoFamilies(classes);
  const rows = families.flatMap((f) =>
    f.children.flatMap((child) =>
      ([['father', f.father], ['mother', f.mother]] as const).map(([relation, p]) => ({
        student_personal_id: child, relation, personal_id: p.personalId, full_name: p.fullName, date_of_birth: p.dateOfBirth, gender: p.gender,
      })),
    ),
  );
  for (let i = 0; i < rows.length; i += 1000) await trx('sim_registry_relations').insert(rows.slice(i, i + 1000));
  await insertPeople(trx, demoGuardians(families).flatMap((f) => [f.father, f.mother]));
}

/** Fee items seen on HCMC notices (shared/reference/fee-items.csv; amounts illustrative). */
export const DEMO_FEE_ITEMS = [
  { code: 'HOC_PHI', name: 'Học phí', unit: 'month', amount: 0, exemptible: true, optional: false, document_kind: 'receipt' },
  { code: 'TIEN_AN', name: 'Tiền ăn bán trú', unit: 'school_day', amount: 35000, exemptible: false, optional: false, document_kind: 'receipt' },
  { code: 'PV_BAN_TRU', name: 'Phục vụ bán trú', unit: 'month', amount: 250000, exemptible: false, optional: false, document_kind: 'receipt' },
  { code: 'VS_BAN_TRU', name: 'Vệ sinh bán trú', unit: 'month', amount: 50000, exemptible: false, optional: false, document_kind: 'receipt' },
  { code: 'HOC_2_BUOI', name: 'Tổ chức dạy học 2 buổi/ngày', unit: 'month', amount: 150000, exemptible: false, optional: false, document_kind: 'receipt' },
  { code: 'TA_BAN_NGU', name: 'Tiếng Anh với giáo viên bản ngữ', unit: 'month', amount: 200000, exemptible: false, optional: true, document_kind: 'receipt' },
  { code: 'KY_NANG_SONG', name: 'Kỹ năng sống', unit: 'month', amount: 60000, exemptible: false, optional: true, document_kind: 'receipt' },
  { code: 'NUOC_UONG', name: 'Nước uống', unit: 'month', amount: 12000, exemptible: false, optional: false, document_kind: 'receipt' },
  { code: 'BHYT', name: 'Bảo hiểm y tế học sinh', unit: 'year', amount: 884520, exemptible: false, optional: false, document_kind: 'none' },
  { code: 'DONG_PHUC', name: 'Đồng phục', unit: 'one_off', amount: 250000, exemptible: false, optional: false, document_kind: 'e_invoice' },
] as const;

/** School holidays of 2026-2027 (Quốc khánh, Tết Dương lịch, Tết Nguyên đán, 30/4 - 1/5). */
const HOLIDAYS = new Set(['2026-09-02', '2027-01-01', '2027-04-30', '2027-05-01']);
const TET = { from: '2027-02-01', to: '2027-02-12' };

/** Monday to Friday from the first school day of 2026-2027 to its last, without holidays. */
export function demoSchoolDays(): string[] {
  const days: string[] = [];
  for (let t = Date.parse('2026-09-07T00:00:00Z'); t <= Date.parse('2027-05-31T00:00:00Z'); t += 86400000) {
    const d = new Date(t);
    const day = d.toISOString().slice(0, 10);
    const weekday = d.getUTCDay();
    if (weekday === 0 || weekday === 6 || HOLIDAYS.has(day) || (day >= TET.from && day <= TET.to)) continue;
    days.push(day);
  }
  return days;
}

async function seedDemoFees(trx: Knex.Transaction, schoolIds: Map<string, string>, yearId: string): Promise<void> {
  const days = demoSchoolDays();
  for (const [n, school] of DEMO_SCHOOLS.entries()) {
    const schoolId = schoolIds.get(school.code)!;
    const items = await trx('fee_items')
      .insert(DEMO_FEE_ITEMS.map((i) => ({ school_id: schoolId, code: i.code, name: i.name, unit: i.unit, document_kind: i.document_kind, exemptible: i.exemptible, optional: i.optional, revenue_code: i.code })))
      .returning<{ id: string; code: string }[]>(['id', 'code']);
    const grades = school.level === 'primary' ? [1, 2, 3, 4, 5] : [6, 7, 8, 9];
    for (const grade of grades) {
      const [plan] = await trx('fee_plans').insert({ school_id: schoolId, academic_year_id: yearId, grade, name: `Khoản thu khối ${grade} năm học ${CURRENT_ACADEMIC_YEAR}` }).returning<{ id: string }[]>('id');
      const [version] = await trx('fee_plan_versions').insert({ school_id: schoolId, plan_id: plan!.id, version: 1, effective_from: '2026-09-05' }).returning<{ id: string }[]>('id');
      await trx('fee_plan_version_items').insert(
        DEMO_FEE_ITEMS.map((i) => ({ school_id: schoolId, version_id: version!.id, fee_item_id: items.find((r) => r.code === i.code)!.id, amount_vnd: i.amount })),
      );
    }
    await trx('school_days').insert(days.map((day) => ({ school_id: schoolId, day })));
    const [account] = await trx('collection_accounts')
      .insert({ school_id: schoolId, bank_bin: '970436', account_number: `00710001234${n + 1}`, account_name: school.name.replace(/^Trường /, 'TRUONG ').toUpperCase(), is_default: true })
      .returning<{ id: string }[]>('id');
    // Callback endpoints for the bank simulator (POST /sim/bank/transfers); secrets are random per install.
    await trx('bank_endpoints').insert([
      { school_id: schoolId, provider: 'sepay', collection_account_id: account!.id, secret: randomBytes(32).toString('hex') },
      { school_id: schoolId, provider: 'casso', collection_account_id: account!.id, secret: randomBytes(32).toString('hex') },
      { school_id: schoolId, provider: 'vnpay', collection_account_id: account!.id, secret: randomBytes(32).toString('hex') },
      { school_id: schoolId, provider: 'direct', collection_account_id: account!.id, secret: `whsec_${randomBytes(32).toString('base64')}` },
      { school_id: schoolId, provider: 'billpay', collection_account_id: account!.id, secret: `whsec_${randomBytes(32).toString('base64')}` },
    ]);
    await seedDemoReceiptSeries(trx, schoolId);
  }
}

/**
 * Receipt series (template 01BLP0-001, symbol BL-<yy>E) for this year and the next, and the
 * school's receipt signing key, so a demo payment yields a receipt at once.
 */
async function seedDemoReceiptSeries(trx: Knex.Transaction, schoolId: string): Promise<void> {
  const year = new Date().getUTCFullYear();
  for (const y of [year, year + 1]) {
    const series = { school_id: schoolId, template_code: '01BLP0-001', symbol: `BL-${String(y % 100).padStart(2, '0')}E`, title: 'BIÊN LAI THU TIỀN', valid_from: `${y}-01-01`, valid_to: `${y}-12-31` };
    await trx('receipt_series').insert(series);
    await trx('receipt_number_counters').insert({ school_id: schoolId, template_code: series.template_code, symbol: series.symbol });
  }
  const pair = generateReceiptKeyPair();
  await trx('receipt_signing_keys').insert({ school_id: schoolId, algorithm: 'ed25519', public_key_pem: pair.publicKeyPem, private_key_pem: pair.privateKeyPem });
}
