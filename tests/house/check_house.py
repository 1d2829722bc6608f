#!/usr/bin/env python3
"""The house rules (README "Layout"), checked on the source tree so they stay true:
  - no C source or header over 600 lines; no function over 80 lines but the tw_cmd_* option parsers of cli/;
  - an internal header (*_int.h) is included only from its own folder (a second folder needing it means
    it should be public), tests and benches included: tests use public headers, except a unit's own tests;
  - every library folder (one with a meson.build that builds a static_library) has a README.md of at most
    ten lines;
  - no library prints to stdout/stderr (progress goes through tw_progress_fn).
Prints every violation with file:line and exits 1 if there is any."""
import os, re, subprocess, sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
os.chdir(root)
files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '*.c', '*.h'],
                       capture_output=True, text=True, check=True).stdout.split()
files = [f for f in files if os.path.exists(f) and not f.startswith(('build', 'node_modules', '.venv'))]
bad = []
LIB_ROOTS = ('bridge/', 'replay/', 'fusion/', 'recorder/')
# Allowed exception: MuJoCo's fatal-error path outside a guard prints its text before abort(), as MuJoCo does.
PRINT_OK = {'replay/sim/tw_mj.c'}
# internal headers a unit's own tests may include: tests/<lib>/ may include bridge/<lib>/*_int.h etc.
own_int = {}
for f in files:
    if f.endswith('_int.h'):
        own_int[os.path.basename(f)] = os.path.dirname(f)


def functions(lines):
    i = 0
    while i < len(lines):
        l = lines[i]
        head = re.match(r'^[A-Za-z_][^;=]*\)\s*$', l) and i + 1 < len(lines) and lines[i + 1] == '{'
        inline = re.match(r'^[A-Za-z_][^;=]*\)\s*\{\s*$', l)
        if head or inline:
            j = i + 1
            while j < len(lines) and lines[j] != '}':
                j += 1
            yield i + 1, j - i + 1, l.strip()
            i = j
        i += 1


for f in files:
    text = open(f, encoding='utf-8', errors='replace').read()
    lines = text.split('\n')
    if len(lines) - 1 > 600:
        bad.append(f'{f}: {len(lines) - 1} lines (limit 600)')
    if f.endswith('.c') and not f.startswith(('tests/', 'bench/', 'examples/', 'fuzz/')):
        for at, n, sig in functions(lines):
            if n > 80 and not (f.startswith('cli/') and sig.startswith('int tw_cmd_')):
                bad.append(f'{f}:{at}: function of {n} lines (limit 80): {sig[:60]}')
    for k, l in enumerate(lines, 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+_int\.h)"', l)
        if m and m.group(1) in own_int:
            home = own_int[m.group(1)]
            mine = os.path.dirname(f)
            lib = home.split('/')[-1]
            if mine != home and not (mine.startswith('tests/') and mine.split('/')[-1] == lib):
                bad.append(f'{f}:{k}: includes {m.group(1)}, internal to {home}/')
        if f.startswith(LIB_ROOTS) and f not in PRINT_OK and f.endswith('.c'):
            if re.search(r'\b(printf|puts)\s*\(|\b(fprintf|fputs|vfprintf)\s*\(\s*(stderr|stdout)\b', l):
                bad.append(f'{f}:{k}: a library writes to stdout/stderr (use tw_progress_fn)')

for dirpath, _, names in os.walk('.'):
    if dirpath.startswith(('./build', './node_modules', './.venv', './tests', './bench', './.git')):
        continue
    if 'meson.build' in names and 'static_library(' in open(os.path.join(dirpath, 'meson.build')).read():
        readme = os.path.join(dirpath, 'README.md')
        if not os.path.exists(readme):
            bad.append(f'{dirpath[2:]}/: a library without README.md')
        elif len(open(readme).read().rstrip('\n').split('\n')) > 10:
            bad.append(f'{readme[2:]}: more than ten lines')

print('\n'.join(bad) if bad else f'house rules hold ({len(files)} C files)')
sys.exit(1 if bad else 0)
