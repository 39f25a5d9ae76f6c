#!/usr/bin/env python3
"""Convert music21 corpus collections into monophonic melody TSV files.

Collections (exactly these): essenFolksong, oneills1850, ryansMammoth (all
ABC files; each file is an opus of tunes) and the Bach chorales (soprano line,
via music21.corpus.chorales.Iterator, Riemenschneider numbering).

Output (in --out, default models/data):
  train.tsv.gz, valid.tsv.gz, test.tsv.gz   gzip (mtime=0), one tune per line:
      source<TAB>id<TAB>meter<TAB>key<TAB>key_source<TAB>notes
    notes = space-separated pitch:onset:duration (MIDI, 16th-note steps);
    onset 0 is a downbeat, so metric position = onset mod bar_steps.
  STATS.md

Run through models/corpus/prepare.sh (it sets up the pinned music21 venv).
"""
import argparse
import collections
import gzip
import hashlib
import math
import multiprocessing as mp
import os
import pathlib
import re
import sys
import time
import traceback
from fractions import Fraction

MUSIC21_VERSION = '10.5.1'
SOURCES = ['essenFolksong', 'oneills1850', 'ryansMammoth', 'bachChorales']
ABC_SOURCES = ['essenFolksong', 'oneills1850', 'ryansMammoth']
MIN_NOTES = 8
HEADER = '# tunesmith melodies v1: ' + '\t'.join(
    ['source', 'id', 'meter', 'key', 'key_source', 'notes'])
SPLITS = ['train', 'valid', 'test']
ABC_CHUNK = 100  # tunes per worker task for big ABC opus files

# Quantisation / reduction counters reported in STATS.md.
COUNTERS = [
    ('grace_dropped', 'grace notes dropped'),
    ('zero_dur_dropped', 'notes dropped: quantised duration 0 (e.g. tuplets, very short notes)'),
    ('offgrid_notes', 'kept notes whose onset or offset was moved by 16th quantisation'),
    ('chords_reduced', 'chords reduced to their highest note'),
    ('overlap_dropped', 'notes dropped because a higher note was sounding at their onset'),
    ('overlap_truncated', 'notes shortened because a higher note started while they sounded'),
    ('ties_merged', 'tied notes merged away by stripTies'),
    ('key_changes', 'kept tunes with a later key change (key column = first key)'),
    ('pickup_tunes', 'kept tunes starting with a pickup (anacrusis)'),
    ('bars_realigned', 'bars moved to the metric grid (pickup/tail at a repeat or '
     'section break), leaving a rest gap'),
]


# ----------------------------------------------------------------------------
# helpers

def sanitize(s):
    return re.sub(r'\s+', ' ', str(s)).strip()


def key_string(tonic, mode):
    name = tonic.name.replace('-', 'b')
    return f'{name[0].upper()}{name[1:]} {mode}'


def q16(x):
    """Quarter-length (Fraction/float) -> nearest 16th step, halves rounded up."""
    return math.floor(Fraction(x) * 4 + Fraction(1, 2))


def corpus_root():
    from music21 import common
    return pathlib.Path(common.getCorpusFilePath())


class Skip(Exception):
    pass


# ----------------------------------------------------------------------------
# melody extraction (shared by ABC and Bach)

def single_meter(part, n_source_meters=None):
    """(meter string, bar length in quarters); raise Skip if it changes."""
    from music21 import meter
    tss = list(part.recurse().getElementsByClass(meter.TimeSignature))
    if not tss:
        raise Skip('no time signature')
    ratios = [ts.ratioString for ts in tss]
    if len(set(ratios)) > 1:
        if n_source_meters is not None and n_source_meters <= 1:
            # music21's ABC reBar() splits an overfull bar and gives the
            # remainder its own time signature: the source bar is wrong.
            raise Skip('overfull bar: source bars do not fit the stated meter '
                       '(music21 reBar inserted a meter change)')
        raise Skip('time signature changes')
    ts = tss[0]
    if not re.fullmatch(r'\d+/\d+', ts.ratioString):
        raise Skip('unsupported (additive) meter')
    bar_q = Fraction(ts.barDuration.quarterLength)
    if (bar_q * 4).denominator != 1 or bar_q <= 0:
        raise Skip('bar length not a whole number of 16ths')
    return ts.ratioString, bar_q


SECTION_BARS = {'double', 'final', 'heavy-light', 'light-heavy', 'heavy-heavy',
                'light-light', 'heavy'}


def sectional(barline):
    from music21 import bar
    return barline is not None and (isinstance(barline, bar.Repeat)
                                    or barline.type in SECTION_BARS)


def place_measures(measures, bar_q, bracketed, counters):
    """Metric start (quarters, 0 = a downbeat) of every measure with content.

    Complete bars start on a downbeat. An incomplete bar is
      - a pickup (right-aligned: ends on a downbeat) if it is the first bar or
        follows a repeat/double bar (e.g. the pickup into a B part),
      - a tail (left-aligned: starts on a downbeat) if it is a 1st/2nd ending,
        ends with a repeat/double/final bar, or is the last bar,
      - otherwise placed right after the previous bar; it must then combine
        with its neighbours into whole bars, else the tune is skipped.
    A rest gap is inserted where the source's tail + pickup do not add up to
    a whole bar (e.g. a full last bar before ':|' followed by a pickup)."""
    def ceil_bar(x):
        return -((-x) // bar_q) * bar_q

    content = [(m, Fraction(m.highestTime)) for m in measures]
    content = [(m, d) for m, d in content if d > 0]
    starts = []
    c = Fraction(0)
    loose = False  # previous bar was an unclassified incomplete one
    for k, (m, d) in enumerate(content):
        if d > bar_q:
            raise Skip('overfull bar')
        if d == bar_q:
            kind = 'full'
            start = ceil_bar(c)
        else:
            prev = content[k - 1][0] if k else None
            if k == 0:
                kind = 'pickup'
                counters['pickup_tunes'] += 1
            elif id(m) in bracketed or sectional(m.rightBarline) or k == len(content) - 1:
                kind = 'tail'
            elif sectional(m.leftBarline) or sectional(prev.rightBarline):
                kind = 'pickup'
            else:
                kind = 'loose'
            if kind == 'tail':
                start = ceil_bar(c)
            elif kind == 'pickup':
                start = ceil_bar(c + d) - d
            else:
                start = c
        if start != c and k:
            if loose:
                raise Skip('irregular bar lengths (bars do not add up to the meter)')
            counters['bars_realigned'] += 1
        loose = kind == 'loose' and (start + d) % bar_q != 0
        starts.append((m, start))
        c = start + d
    return starts


def extract_melody(part, bar_q, bracketed, counters):
    """Return [(pitch, onset, dur)] in 16th steps, onset 0 = downbeat."""
    from music21 import chord, harmony, note, stream

    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        raise Skip('no bar lines (no measures)')
    if any(True for _ in part.getElementsByClass(note.GeneralNote)):
        raise Skip('notes outside measures')
    # bar lengths as written, i.e. before stripTies lengthens notes tied over
    # a bar line (the merged note stays in the first bar)
    starts = place_measures(measures, bar_q, bracketed, counters)

    n_before = sum(1 for _ in part.recurse().notes)
    part.stripTies(inPlace=True)
    n_after = sum(1 for _ in part.recurse().notes)
    counters['ties_merged'] += n_before - n_after

    events = []  # (onset, offset, pitch)
    for m, mstart in starts:
        for el in m.recurse().notes:
            if isinstance(el, harmony.Harmony):
                continue  # chord symbols are not melody
            if el.duration.isGrace or el.duration.quarterLength == 0:
                counters['grace_dropped'] += 1
                continue
            if isinstance(el, chord.Chord):
                ps = [p.midi for p in el.pitches]
                if not ps:
                    continue
                if len(ps) > 1:
                    counters['chords_reduced'] += 1
                pitch = max(ps)
            elif isinstance(el, note.Note):
                pitch = el.pitch.midi
            else:
                continue  # unpitched
            on = mstart + Fraction(el.getOffsetInHierarchy(m))
            off = on + Fraction(el.duration.quarterLength)
            qon, qoff = q16(on), q16(off)
            if qoff <= qon:
                counters['zero_dur_dropped'] += 1
                continue
            if on * 4 != qon or off * 4 != qoff:
                counters['offgrid_notes'] += 1
            if not 0 <= pitch <= 127:
                raise Skip('pitch outside MIDI range')
            events.append((qon, qoff, pitch))

    if not events:
        return []
    # Skyline: at every step the highest sounding note owns it (ties: earlier
    # onset, then longer). A note is emitted only from its own onset; a tail
    # re-exposed after a higher note ends is not a new attack and is dropped.
    events.sort(key=lambda e: (e[0], -e[2], -e[1]))
    start = events[0][0]
    end = max(e[1] for e in events)
    n_steps = end - start
    owner = [-1] * n_steps
    for i, (a, b, p) in enumerate(events):
        for t in range(a - start, b - start):
            j = owner[t]
            if j < 0 or p > events[j][2]:
                owner[t] = i
    notes = []
    emitted = 0
    t = 0
    while t < n_steps:
        i = owner[t]
        u = t + 1
        while u < n_steps and owner[u] == i:
            u += 1
        if i >= 0 and events[i][0] == t + start:
            a, b, p = events[i]
            notes.append((p, a, u - t))
            emitted += 1
            if u + start < b:
                counters['overlap_truncated'] += 1
        t = u
    counters['overlap_dropped'] += len(events) - emitted
    return notes


def repeat_bracket_measures(score):
    from music21 import spanner
    ids = set()
    for rb in score.recurse().getElementsByClass(spanner.RepeatBracket):
        ids.update(id(x) for x in rb.getSpannedElements())
    return ids


PC = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}


def third_quality(key_str, notes):
    """'minor'/'major': which third above the stated tonic sounds longer."""
    tonic = key_str.split(' ')[0]
    pc = (PC[tonic[0]] + tonic.count('#') - tonic.count('b')) % 12
    w = collections.Counter()
    for p, _, d in notes:
        w[(p - pc) % 12] += d
    if w[3] == w[4]:
        return None
    return 'minor' if w[3] > w[4] else 'major'


def finish(source, ident, sortkey, meter_str, key_str, key_source, notes,
           counters, extra=None):
    if len(notes) < MIN_NOTES:
        raise Skip(f'fewer than {MIN_NOTES} notes')
    for (p0, a0, d0), (p1, a1, d1) in zip(notes, notes[1:]):
        assert a1 > a0 and a0 + d0 <= a1, (ident, notes)
    rec = {
        'kind': 'ok', 'source': source, 'id': sanitize(ident), 'sortkey': sortkey,
        'meter': meter_str, 'key': key_str, 'key_source': key_source,
        'notes': ' '.join(f'{p}:{a}:{d}' for p, a, d in notes),
        'counters': dict(counters),
        'third': third_quality(key_str, notes),
    }
    if extra:
        rec.update(extra)
    return rec


# ----------------------------------------------------------------------------
# ABC

FIELD_LINE = re.compile(r'^[A-Za-z+]:')


def clean_abc_body(text):
    """Work around two music21 10.5.1 ABC bugs, in tune-body lines only
    (outside "annotations", !decorations!, [inline:fields] and % comments):
      - the shorthand decoration 'H' (fermata) makes the next note vanish
        ('Ha2' loses the a2): rewrite it to the long form '!fermata!';
      - grace notes {..} are counted as members of a tuplet ('(3{d}cBA'
        makes the A full length, giving an overfull bar): grace notes are
        dropped from the melody anyway, so remove them here.
    Returns (text, {X number: grace notes removed})."""
    out, graces, xnum = [], collections.Counter(), None
    for line in text.split('\n'):
        if line.startswith('X:'):
            digits = re.sub(r'\D', '', line)
            xnum = int(digits) if digits else None
        if FIELD_LINE.match(line) or not ('H' in line or '{' in line):
            out.append(line)
            continue
        buf, i, n = [], 0, len(line)
        while i < n:
            ch = line[i]
            if ch == '%':
                buf.append(line[i:])
                break
            if ch in '"!':
                j = line.find(ch, i + 1)
                j = n - 1 if j < 0 else j
                buf.append(line[i:j + 1])
                i = j + 1
                continue
            if ch == '[' and re.match(r'\[[A-Za-z]:', line[i:i + 3]):
                j = line.find(']', i)
                j = n - 1 if j < 0 else j
                buf.append(line[i:j + 1])
                i = j + 1
                continue
            if ch == '{':
                j = line.find('}', i)
                j = n - 1 if j < 0 else j
                graces[xnum] += len(re.findall(r'[A-Ga-g]', line[i:j + 1]))
                i = j + 1
                continue
            buf.append('!fermata!' if ch == 'H' else ch)
            i += 1
        out.append(''.join(buf))
    return '\n'.join(out), graces


def add_default_unit_length(text):
    """music21 10.5.1 carries the L: (unit note length) of one tune over to
    later tunes of the same file that have no L: field. Give such tunes the
    ABC-standard default explicitly: 1/16 if the meter is < 3/4, else 1/8."""
    lines = text.split('\n')
    out, header, has_l, meter_val = [], False, False, None
    for line in lines:
        if line.startswith('X:'):
            header, has_l, meter_val = True, False, None
        elif header and line.startswith('L:'):
            has_l = True
        elif header and line.startswith('M:'):
            m = line[2:].split('%')[0].strip()
            if m in ('C', 'C|'):
                meter_val = Fraction(1)
            elif re.fullmatch(r'\d+/\d+', m):
                a, b = m.split('/')
                meter_val = Fraction(int(a), int(b)) if int(b) else None
        elif header and line.startswith('K:'):
            header = False
            if not has_l:
                small = meter_val is not None and meter_val < Fraction(3, 4)
                out.append('L:1/16' if small else 'L:1/8')
        out.append(line)
    return '\n'.join(out)


def abc_tunes(path):
    """Split an ABC file into (X number, handler) exactly like music21's
    converter does for an opus (abcToStreamOpus), so each tune can fail alone."""
    from music21 import abcFormat
    text = pathlib.Path(path).read_text(encoding='utf-8', errors='replace')
    text, graces = clean_abc_body(text)
    text = add_default_unit_length(text)
    handler = abcFormat.ABCFile().readstr(text)
    if handler.definesReferenceNumbers():
        return sorted(handler.splitByReferenceNumber().items()), graces
    return [(None, handler)], graces


def abc_key(handler, score):
    """Key as stated by the first K: field (music21's reading of it)."""
    from music21 import key
    raw = None
    for t in handler.tokens:
        if getattr(t, 'tag', None) == 'K' and hasattr(t, 'isKey') and t.isKey():
            raw = t.data.strip()
            break
    if raw is None:
        raise Skip('no K: field')
    keys = list(score.recurse().getElementsByClass(key.KeySignature))
    if not keys:
        raise Skip('no K: field')
    k = keys[0]
    # music21 silently maps unknown tonics (German 'H', empty, 'none') to C,
    # and gives a bare KeySignature when the mode is not understood ('Bn', 'Hp').
    if not isinstance(k, key.Key) or k.mode is None:
        raise Skip(f'K: field not understood by music21 ({raw!r})')
    if not raw or raw[0].upper() != k.tonic.name[0]:
        raise Skip(f'K: field not understood by music21 ({raw!r})')
    changes = len({(x.sharps, getattr(x, 'mode', None)) for x in keys}) > 1
    return key_string(k.tonic, k.mode), changes


def process_abc(task):
    source, rel, lo, hi = task
    from music21 import abcFormat
    from music21.abcFormat import translate
    path = corpus_root() / rel
    out = []
    tunes, graces = abc_tunes(path)
    for idx in range(lo, min(hi, len(tunes))):
        num, handler = tunes[idx]
        ident = f'{rel}#{idx}'
        sortkey = (SOURCES.index(source), rel, idx)
        try:
            sc = translate.abcToStreamScore(handler)
            title = sc.metadata.title if sc.metadata and sc.metadata.title else ''
            ident = f'{rel}#{idx} X:{num if num is not None else ""} {title}'
            parts = list(sc.parts)
            if not parts:
                raise Skip('no parts')
            part = parts[0]
            counters = collections.Counter()
            counters['grace_dropped'] += graces[num] if len(tunes) > 1 else sum(graces.values())
            n_meters = len({sanitize(t.data) for t in handler.tokens
                            if getattr(t, 'tag', None) == 'M'})
            meter_str, bar_q = single_meter(part, n_meters)
            key_str, kchange = abc_key(handler, sc)
            counters['key_changes'] += int(kchange)
            notes = extract_melody(part, bar_q, repeat_bracket_measures(sc), counters)
            extra = {'group': f'oneills1850:{int(num)}'} if (
                source == 'oneills1850' and num is not None) else None
            out.append(finish(source, ident, sortkey, meter_str, key_str,
                              'source', notes, counters, extra))
        except Skip as e:
            out.append({'kind': 'skip', 'source': source, 'id': sanitize(ident),
                        'reason': str(e)})
        except Exception as e:  # parse/translation failure: never crash the run
            out.append({'kind': 'skip', 'source': source, 'id': sanitize(ident),
                        'reason': f'parse error: {type(e).__name__}',
                        'detail': sanitize(str(e))[:200]})
    return out


def abc_tasks(source, limit=None):
    root = corpus_root()
    tasks = []
    for path in sorted((root / source).glob('*.abc')):
        rel = path.relative_to(root).as_posix()
        text = path.read_bytes()
        n = max(1, len(re.findall(rb'(?m)^X:', text)))
        if limit:
            n = min(n, limit)
        for lo in range(0, n, ABC_CHUNK):
            tasks.append((source, rel, lo, min(lo + ABC_CHUNK, n)))
    return tasks


# ----------------------------------------------------------------------------
# Bach chorales

def bach_tasks(limit=None):
    """One task per chorale file of music21's chorale Iterator (Riemenschneider
    numbering 1-371). Names are resolved to files the way corpus.parse does
    (first match of corpus.getWork), except that the Humdrum (.krn) copies of
    three chorales are replaced by their MusicXML versions (the CCARH .krn files
    say "Rights to all derivative electronic formats reserved"). Files reached
    under several numbers are used once."""
    from music21 import corpus
    from music21.corpus import chorales
    root = corpus_root()
    byfile = {}
    for r in chorales.Iterator().numberList:
        for fn in chorales.Iterator(r, r, returnType='filename'):
            work = corpus.getWork(fn)
            path = pathlib.Path(work[0] if isinstance(work, list) else work)
            if path.suffix == '.krn' and path.with_suffix('.mxl').exists():
                path = path.with_suffix('.mxl')
            byfile.setdefault(path.relative_to(root).as_posix(), []).append(r)
    items = sorted(byfile.items(), key=lambda kv: kv[1][0])
    if limit:
        items = items[:limit]
    return [('bachChorales', rel, tuple(rs)) for rel, rs in items]


def process_bach(task):
    source, rel, rs = task
    from music21 import converter, key
    from music21.corpus import chorales
    ident = f'{rel} R{"+R".join(map(str, rs))}'
    sortkey = (SOURCES.index(source), '', rs[0])
    try:
        sc = converter.parse(corpus_root() / rel, forceSource=True)
        title = (sc.metadata.title if sc.metadata and sc.metadata.title else '') or \
            chorales.ChoraleList().byRiemenschneider.get(rs[0], {}).get('title', '')
        ident = f'{rel} R{"+R".join(map(str, rs))} {title}'
        parts = list(sc.parts)
        if not parts:
            raise Skip('no parts')
        sop = [p for p in parts if p.partName and 'soprano' in p.partName.lower()]
        part = sop[0] if sop else parts[0]
        counters = collections.Counter()
        meter_str, bar_q = single_meter(part)
        k = sc.analyze('key')
        key_str = key_string(k.tonic, k.mode)
        fk = [x for x in sc.recurse().getElementsByClass(key.Key)]
        notes = extract_melody(part, bar_q, repeat_bracket_measures(sc), counters)
        extra = {'file_key': key_string(fk[0].tonic, fk[0].mode) if fk else None,
                 'soprano_named': bool(sop)}
        return [finish(source, ident, sortkey, meter_str, key_str, 'analysed',
                       notes, counters, extra)]
    except Skip as e:
        return [{'kind': 'skip', 'source': source, 'id': sanitize(ident),
                 'reason': str(e)}]
    except Exception as e:
        return [{'kind': 'skip', 'source': source, 'id': sanitize(ident),
                 'reason': f'parse error: {type(e).__name__}',
                 'detail': sanitize(str(e))[:200]}]


def _no_beams(self, *args, **kwargs):
    return None if kwargs.get('inPlace') else self


def run_task(task):
    # Beaming is notation only and costs ~1/3 of ABC translation time.
    from music21 import stream
    stream.Stream.makeBeams = _no_beams
    try:
        if task[0] == 'bachChorales':
            return process_bach(task)
        return process_abc(task)
    except Exception as e:  # e.g. a whole file failing to tokenize
        return [{'kind': 'skip', 'source': task[0], 'id': f'{task[1]} (task {task[2:]})',
                 'reason': f'file error: {type(e).__name__}',
                 'detail': sanitize(traceback.format_exc().splitlines()[-1])[:200]}]


# ----------------------------------------------------------------------------
# split: union tunes that share note content (or an O'Neill tune number),
# then bucket each group by sha1 of its smallest content hash.

def assign_splits(recs):
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for r in recs:
        r['chash'] = hashlib.sha1(r['notes'].encode()).hexdigest()
        node = 'c:' + r['chash']
        find(node)
        if r.get('group'):
            union(node, 'g:' + r['group'])
    members = collections.defaultdict(list)
    for r in recs:
        members[find('c:' + r['chash'])].append(r)
    n_groups_multi = 0
    for grp in members.values():
        h = min(r['chash'] for r in grp)
        b = int(h, 16) % 10
        split = 'train' if b < 8 else ('valid' if b == 8 else 'test')
        if len(grp) > 1:
            n_groups_multi += 1
        for r in grp:
            r['split'] = split
    dup_content = sum(c - 1 for c in collections.Counter(
        r['chash'] for r in recs).values())
    return n_groups_multi, dup_content


# ----------------------------------------------------------------------------
# output

def write_gz(path, lines):
    tmp = path.with_suffix(path.suffix + '.tmp')
    with open(tmp, 'wb') as raw:
        with gzip.GzipFile(filename='', mode='wb', fileobj=raw, mtime=0,
                           compresslevel=9) as gz:
            gz.write((HEADER + '\n').encode())
            for line in lines:
                gz.write((line + '\n').encode())
    os.replace(tmp, path)


def fmt_top(counter, n=8):
    return ', '.join(f'{k} ({v})' for k, v in counter.most_common(n)) or '-'


def write_stats(path, recs, skips, n_groups_multi, dup_content):
    L = ['# tunesmith melody corpus statistics', '',
         f'Generated by `models/corpus/prepare.sh` (music21 {MUSIC21_VERSION}).',
         'Units: durations and onsets in 16th-note steps. "steps" = sum over tunes '
         'of (end of last note - onset of first note).', '']
    L += ['## Per source', '',
          '| source | tunes kept | skipped | notes | steps | pitch min | pitch max |',
          '|---|---:|---:|---:|---:|---:|---:|']
    for s in SOURCES:
        rs = [r for r in recs if r['source'] == s]
        sk = [x for x in skips if x['source'] == s]
        ps = [int(t.split(':')[0]) for r in rs for t in r['notes'].split()]
        L.append(f'| {s} | {len(rs)} | {len(sk)} | {sum(r["n_notes"] for r in rs)} | '
                 f'{sum(r["n_steps"] for r in rs)} | {min(ps) if ps else "-"} | '
                 f'{max(ps) if ps else "-"} |')
    L.append(f'| **total** | {len(recs)} | {len(skips)} | '
             f'{sum(r["n_notes"] for r in recs)} | {sum(r["n_steps"] for r in recs)} | | |')
    L.append('')
    for s in SOURCES:
        rs = [r for r in recs if r['source'] == s]
        sk = [x for x in skips if x['source'] == s]
        L += [f'### {s}', '']
        reasons = collections.Counter(x['reason'] for x in sk)
        L.append('- skipped by reason: ' + (fmt_top(reasons, 50) if sk else 'none'))
        L.append('- meters: ' + fmt_top(collections.Counter(r['meter'] for r in rs)))
        L.append('- keys: ' + fmt_top(collections.Counter(r['key'] for r in rs)))
        L.append('- modes: ' + fmt_top(collections.Counter(
            r['key'].split(' ', 1)[1] for r in rs), 12))
        L.append('- key_source: ' + fmt_top(collections.Counter(r['key_source'] for r in rs)))
        maj = [r for r in rs if r['key'].endswith(' major')]
        mino = [r for r in rs if r['key'].endswith(' minor')]
        L.append(f'- mode check: of {len(maj)} tunes labelled major, '
                 f'{sum(1 for r in maj if r["third"] == "minor")} dwell longer on the '
                 'minor third above the tonic than on the major third; of '
                 f'{len(mino)} labelled minor, '
                 f'{sum(1 for r in mino if r["third"] == "major")} the reverse')
        c = collections.Counter()
        for r in rs:
            c.update(r['counters'])
        L.append('- quantisation/reduction: ' + ', '.join(
            f'{desc}: {c[k]}' for k, desc in COUNTERS))
        if s == 'bachChorales' and rs:
            named = sum(1 for r in rs if r.get('soprano_named'))
            agree = sum(1 for r in rs if r.get('file_key') == r['key'])
            withk = sum(1 for r in rs if r.get('file_key'))
            L.append(f'- soprano part found by name in {named}/{len(rs)} chorales '
                     '(else first part)')
            L.append(f'- analysed key equals the key (signature+mode) written in the '
                     f'file in {agree}/{withk} chorales that have one')
        L.append('')
    L += ['## Splits', '',
          'Split by sha1 of the note list (identical melodies share a split); '
          "O'Neill tunes with the same tune number (several transcriptions) are "
          'also kept together.', '',
          f'- tunes whose exact note list also occurs elsewhere (extra copies): {dup_content}',
          f'- groups with more than one tune: {n_groups_multi}', '',
          '| split | ' + ' | '.join(SOURCES) + ' | tunes | notes |',
          '|---|' + '---:|' * (len(SOURCES) + 2)]
    for sp in SPLITS:
        rs = [r for r in recs if r['split'] == sp]
        per = [sum(1 for r in rs if r['source'] == s) for s in SOURCES]
        L.append(f'| {sp} | ' + ' | '.join(map(str, per)) +
                 f' | {len(rs)} | {sum(r["n_notes"] for r in rs)} |')
    L += ['', '## Notes', '',
          '- Essen: the K: field of these ABC files gives only the tonic (from the '
          'EsAC KEY field); music21 reads a bare tonic as major, so Essen modes are '
          'almost all "major" even for minor/modal tunes (see the mode check above).',
          '- Bach: key = music21 `analyze(\'key\')` (music21 default: Aarden-Essen key profiles) of the '
          'full four-part chorale; melody = soprano part.',
          '- Melodies are as written: repeats are not expanded, 1st and 2nd endings '
          'follow each other. Rests are gaps between notes.',
          '- Tuplets are quantised to the 16th grid (onset and offset rounded to the '
          'nearest 16th, halves up); notes that collapse to 0 steps are dropped.',
          '- ABC work-arounds for music21 10.5.1 bugs: shorthand decoration `H` '
          'rewritten to `!fermata!` (else the next note is lost), grace groups `{..}` '
          'removed before parsing (else they are counted inside tuplets), and tunes '
          'without L: get the ABC default unit length (else the previous tune\'s '
          'L: leaks in).', '']
    path.write_text('\n'.join(L))


# ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(pathlib.Path(__file__).resolve().parents[1] / 'data'))
    ap.add_argument('--procs', type=int, default=2)
    ap.add_argument('--limit', type=int, default=None,
                    help='debug: at most N tunes per file / N chorales')
    args = ap.parse_args()

    import music21
    if music21.__version__ != MUSIC21_VERSION:
        sys.exit(f'need music21 {MUSIC21_VERSION}, found {music21.__version__}')
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tasks = []
    for s in ABC_SOURCES:
        tasks += abc_tasks(s, args.limit)
    tasks += bach_tasks(args.limit)
    total = sum((t[3] - t[2]) if t[0] != 'bachChorales' else 1 for t in tasks)
    print(f'{len(tasks)} tasks, ~{total} tunes, {args.procs} processes', flush=True)

    t0 = time.time()
    results, done, last = [], 0, 0.0
    with mp.Pool(args.procs, maxtasksperchild=20) as pool:
        for res in pool.imap_unordered(run_task, tasks):
            results += res
            done += len(res)
            now = time.time() - t0
            if now - last > 15 or done == total:
                last = now
                kept = sum(1 for r in results if r['kind'] == 'ok')
                print(f'[{now:7.1f}s] {done}/{total} tunes processed, {kept} kept',
                      flush=True)

    recs = sorted((r for r in results if r['kind'] == 'ok'), key=lambda r: r['sortkey'])
    skips = sorted((r for r in results if r['kind'] != 'ok'),
                   key=lambda r: (SOURCES.index(r['source']), r['id']))
    ids = collections.Counter((r['source'], r['id']) for r in recs)
    dupe_ids = [k for k, v in ids.items() if v > 1]
    assert not dupe_ids, dupe_ids[:5]
    for r in recs:
        ns = [tuple(map(int, t.split(':'))) for t in r['notes'].split()]
        r['n_notes'] = len(ns)
        r['n_steps'] = ns[-1][1] + ns[-1][2] - ns[0][1]
    n_groups_multi, dup_content = assign_splits(recs)

    for sp in SPLITS:
        lines = ['\t'.join([r['source'], r['id'], r['meter'], r['key'], r['key_source'],
                            r['notes']]) for r in recs if r['split'] == sp]
        write_gz(out / f'{sp}.tsv.gz', lines)
    write_stats(out / 'STATS.md', recs, skips, n_groups_multi, dup_content)

    print(f'\ndone in {time.time() - t0:.1f}s: {len(recs)} tunes kept, {len(skips)} skipped')
    for s in SOURCES:
        sk = collections.Counter(x['reason'] for x in skips if x['source'] == s)
        print(f'  {s}: kept {sum(1 for r in recs if r["source"] == s)}, skipped '
              f'{sum(sk.values())}' + (': ' + '; '.join(f'{k} x{v}' for k, v in
                                                        sk.most_common()) if sk else ''))
    errs = [x for x in skips if x.get('detail')]
    if errs:
        print('\nparse errors (first 30):')
        for x in errs[:30]:
            print(f'  {x["source"]} {x["id"]}: {x["reason"]}: {x["detail"]}')
    for sp in SPLITS:
        print(f'  {sp}: {sum(1 for r in recs if r["split"] == sp)} tunes')


if __name__ == '__main__':
    main()
