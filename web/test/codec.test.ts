// The TypeScript codec against the C++ one: every vector of vectors.json (bytes the C++ encoder
// wrote, values the C++ decoder read) must decode to the same values here, client messages must
// encode to the same bytes, and every malformed vector must be refused. Run by scripts/web.sh test.
// Node's own names, declared here rather than installing @types/node for two of them.
declare const require: (m: string) => any;
declare const process: { argv: string[]; exit(code: number): never };
const { readFileSync } = require('fs');
import { decodeGateway, encodeHello, encodeInput, encodeLogin, encodeLogout, encodeRefresh, encodeRegister, MalformedError } from '../src/app/codec';

interface Vector {
  name: string;
  direction: 'client' | 'gateway';
  hex: string;
  expect: any;
}

const vectors: Vector[] = JSON.parse(readFileSync(process.argv[2] ?? 'test/vectors.json', 'utf8'));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const bytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
// bigints as decimal strings, as the vectors hold them.
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));

let failures = 0;
const fail = (name: string, what: string) => {
  failures++;
  console.error(`FAIL ${name}: ${what}`);
};

for (const v of vectors) {
  if (v.direction === 'client') {
    const e = v.expect;
    const encoders: Record<string, () => Uint8Array> = {
      hello: () =>
        encodeHello({ name: e.name, resumeEntity: BigInt(e.resumeEntity), resumeToken: BigInt(e.resumeToken), accessId: BigInt(e.accessId), accessSecret: BigInt(e.accessSecret) }),
      input: () => encodeInput({ seq: e.seq, moveX: e.moveX, moveY: e.moveY, target: BigInt(e.target), skill: e.skill }),
      register: () => encodeRegister({ account: e.account, password: e.password, classId: e.classId }),
      login: () => encodeLogin({ account: e.account, password: e.password }),
      refresh: () => encodeRefresh({ id: BigInt(e.id), secret: BigInt(e.secret) }),
      logout: () => encodeLogout({ id: BigInt(e.id), secret: BigInt(e.secret) }),
    };
    const encode = encoders[v.name];
    if (!encode) {
      fail(v.name, 'no encoder for this client vector');
      continue;
    }
    const got = encode();
    if (hex(got) !== v.hex) fail(v.name, `encoded ${hex(got)}, the C++ encoder ${v.hex}`);
    continue;
  }
  if (v.expect === null) {
    try {
      decodeGateway(bytes(v.hex));
      fail(v.name, 'a malformed message was accepted');
    } catch (e) {
      if (!(e instanceof MalformedError)) fail(v.name, `threw ${e}`);
    }
    continue;
  }
  try {
    const got = JSON.stringify(plain(decodeGateway(bytes(v.hex))));
    const want = JSON.stringify(v.expect);
    if (got !== want) fail(v.name, `decoded\n  ${got}\nthe C++ decoder read\n  ${want}`);
  } catch (e) {
    fail(v.name, `refused: ${e}`);
  }
}
// Truncating any valid gateway message anywhere must be refused, never half-read.
for (const v of vectors.filter((x) => x.direction === 'gateway' && x.expect !== null)) {
  const b = bytes(v.hex);
  for (let n = 0; n < b.length; ++n) {
    try {
      decodeGateway(b.subarray(0, n));
      fail(v.name, `accepted when cut to ${n} bytes`);
    } catch (e) {
      if (!(e instanceof MalformedError)) fail(v.name, `threw ${e} when cut to ${n} bytes`);
    }
  }
}
console.log(`codec: ${vectors.length} vectors, ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
