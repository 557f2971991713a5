// Summarise a mailbox from the emulator's GET /_emu/mailbox/EMAIL on stdin:
// "total=N unique=M dups=D labels=L", where L counts messages carrying the
// label id given as the first argument (if any).
'use strict';
let s = '';
process.stdin.on('data', (d) => { s += d; });
process.stdin.on('end', () => {
  const box = JSON.parse(s);
  const seen = new Map();
  let labelled = 0;
  for (const m of box) {
    const raw = Buffer.from(m.raw, 'base64url').toString('latin1');
    const head = raw.split(/\r?\n\r?\n/)[0];
    const id = (head.match(/^message-id:\s*(<[^>]*>)/im) || [null, 'none:' + m.id])[1];
    seen.set(id, (seen.get(id) || 0) + 1);
    if (process.argv[2] && (m.labelIds || []).includes(process.argv[2])) labelled++;
  }
  let dups = 0;
  for (const n of seen.values()) if (n > 1) dups += n - 1;
  console.log(`total=${box.length} unique=${seen.size} dups=${dups} labels=${labelled}`);
});
