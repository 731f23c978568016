import { loadConfig } from '../../src/config';

describe('configuration', () => {
  test('development defaults: embedded database, simulator on, seeds on', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, databaseUrl: undefined, seedDemoData: true, isProduction: false });
    expect(config.vneid.simulator).toBe(true);
    expect(config.vneid.issuerUrl).toBe('http://localhost:3000/sim/vneid');
  });

  test('production requires a database, a signing key, real secrets and the registry, and turns the simulator off', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL.*JWT_PRIVATE_KEY.*PUBLIC_BASE_URL.*VNEID_ISSUER_URL.*POPULATION_REGISTRY_URL.*POPULATION_REGISTRY_API_KEY.*VNEID_CLIENT_SECRET/);
    const config = loadConfig({
      NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', JWT_PRIVATE_KEY: 'pem', VNEID_CLIENT_SECRET: 's3cret',
      VNEID_ISSUER_URL: 'https://sso.example/', PUBLIC_BASE_URL: 'https://fees.example',
      POPULATION_REGISTRY_URL: 'https://registry.example/api/', POPULATION_REGISTRY_API_KEY: 'a-real-registry-key',
    });
    expect(config.populationRegistry.url).toBe('https://registry.example/api');
    expect(config.vneid.redirectUri).toBe('https://fees.example/auth/vneid/callback');
    expect(config.vneid.simulator).toBe(false);
    expect(config.seedDemoData).toBe(false);
    expect(config.vneid.issuerUrl).toBe('https://sso.example');
  });

  test('names every bad variable', () => {
    expect(() => loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' })).toThrow(/PORT.*LOG_LEVEL/);
  });
});
