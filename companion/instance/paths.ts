import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** Where an instance keeps its files: `<root>/devices/<device_id>/` plus `<root>/logs/`. */
export interface InstancePaths {
  root: string;
  deviceId: string;
  deviceDir: string;
  identityFile: string;
  databaseFile: string;
  logDir: string;
}

interface DeviceFile {
  device_id: string;
  hostname: string;
  created_at: string;
}

/** Writes via a temp file and rename so a crash never leaves a half-written file behind. */
export function writeFileAtomic(file: string, contents: string, mode = 0o600): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, contents, { mode });
  renameSync(temp, file);
}

/**
 * device_id is stable per machine and data root: it is created once and kept in the root, so
 * two instances on one machine with separate data roots (as every test runs) get separate devices.
 */
export function resolveInstancePaths(dataRoot: string): InstancePaths {
  const root = resolve(dataRoot);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const deviceFile = join(root, 'device.json');
  let device: DeviceFile;
  if (existsSync(deviceFile)) {
    device = JSON.parse(readFileSync(deviceFile, 'utf8')) as DeviceFile;
    if (!/^[0-9a-f]{8}$/.test(device.device_id)) throw new Error(`Corrupt device file ${deviceFile}: bad device_id`);
  } else {
    device = { device_id: randomBytes(4).toString('hex'), hostname: hostname(), created_at: new Date().toISOString() };
    writeFileAtomic(deviceFile, JSON.stringify(device, null, 2) + '\n', 0o644);
  }
  const deviceDir = join(root, 'devices', device.device_id);
  const logDir = join(root, 'logs');
  mkdirSync(deviceDir, { recursive: true, mode: 0o700 });
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  return {
    root,
    deviceId: device.device_id,
    deviceDir,
    identityFile: join(deviceDir, 'peer_identity.json'),
    databaseFile: join(deviceDir, 'canopy.db'),
    logDir,
  };
}
