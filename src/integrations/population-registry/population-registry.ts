/**
 * The port to the national population registry (Cơ sở dữ liệu quốc gia về dân cư): for a child's
 * personal ID, who the registry records as father, mother or legal guardian. Production points
 * the HTTP client at the registry's gateway; development and tests at the built-in simulator.
 */
export type RegistryRelation = 'father' | 'mother' | 'legal_guardian';

export interface RegisteredRelative {
  relation: RegistryRelation;
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'male' | 'female';
}

export interface PopulationRegistry {
  /** The child's recorded relatives; `null` when the registry has no such citizen. */
  findRelatives(childPersonalId: string): Promise<RegisteredRelative[] | null>;
}

export class RegistryUnavailableError extends Error {}
