import type { ReportScope } from '../reports.types';

/**
 * Vietnamese presentation of report values: amounts as 1.234.567 đ, instants in Vietnam's time
 * zone, months as MM/YYYY, and the administrative header of a report by its scope.
 */
/** 1234567 -> "1.234.567" and "1.234.567 đ" (src/lib/money.ts). */
export { groupVnd as formatAmount, formatVnd } from '../../../lib/money';

/** "2026-11" -> "11/2026". */
export function formatMonth(month: string): string {
  const [year, mm] = month.split('-');
  return `${mm}/${year}`;
}

/** "2026-11-30" -> "30/11/2026". */
export function formatDay(day: string): string {
  const [year, mm, dd] = day.split('-');
  return `${dd}/${mm}/${year}`;
}

const instantFormat = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });

function vietnamParts(iso: string): Record<'year' | 'month' | 'day' | 'hour' | 'minute', string> {
  const parts = instantFormat.formatToParts(new Date(iso));
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** An ISO instant -> "08:05 ngày 01/12/2026" in Asia/Ho_Chi_Minh. */
export function formatInstant(iso: string): string {
  const p = vietnamParts(iso);
  return `${p.hour}:${p.minute} ngày ${p.day}/${p.month}/${p.year}`;
}

/** An ISO instant -> "ngày 01 tháng 12 năm 2026", the dateline of an administrative document. */
export function formatDateline(iso: string): string {
  const p = vietnamParts(iso);
  return `ngày ${p.day} tháng ${p.month} năm ${p.year}`;
}

export const LEVEL_LABELS_VI = { school: 'Trường', district: 'Quận, huyện', city: 'Tỉnh, thành phố' } as const;

/**
 * The issuing bodies above the title, outermost first: the provincial Department of Education
 * (Sở), then for a district or school report the district's office (Phòng), then the school.
 */
export function authorityLines(scope: ReportScope): string[] {
  const lines = [`SỞ GIÁO DỤC VÀ ĐÀO TẠO ${upper(scope.province_name)}`];
  if (scope.district_name) lines.push(`PHÒNG GIÁO DỤC VÀ ĐÀO TẠO ${upper(scope.district_name)}`);
  if (scope.level === 'school' && scope.school_name) lines.push(upper(scope.school_name));
  return lines;
}

/** What the report covers, in words: "Trường THCS ...", "Quận 12, Thành phố Hồ Chí Minh". */
export function scopeLabel(scope: ReportScope): string {
  if (scope.level === 'school') return [scope.school_name ?? scope.school_id, scope.district_name, scope.province_name].filter(Boolean).join(', ');
  if (scope.level === 'district') return [scope.district_name ?? scope.district_code, scope.province_name].filter(Boolean).join(', ');
  return `Toàn ${lowerFirst(scope.province_name)}`;
}

/** The place in the dateline: "TP. Hồ Chí Minh" for a city, the province's name otherwise. */
export function placeName(scope: ReportScope): string {
  return scope.province_name.replace(/^Thành phố /u, 'TP. ').replace(/^Tỉnh /u, '');
}

/** The unit that issues the report: the school, the district's office or the city's department. */
export function unitName(scope: ReportScope): string {
  if (scope.level === 'school') return scope.school_name ?? scope.school_id ?? '';
  if (scope.level === 'district') return `Phòng Giáo dục và Đào tạo ${scope.district_name ?? scope.district_code ?? ''}`.trim();
  return `Sở Giáo dục và Đào tạo ${scope.province_name}`;
}

const upper = (s: string) => s.toLocaleUpperCase('vi-VN');
const lowerFirst = (s: string) => s.charAt(0).toLocaleLowerCase('vi-VN') + s.slice(1);
