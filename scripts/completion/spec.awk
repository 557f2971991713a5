# Reads mdoc pages of section 1 and prints what their SYNOPSIS says a command
# line holds, one fact a line, fields separated by tabs:
#	tool  c  -  command               the tool takes this command
#	tool  o  command  option  arg     option (arg: its name, =a|b for choices,
#	                                  empty for none); command "-" means the
#	                                  form without a command, "*" every form
#	tool  w  command  word            a word the command takes (optout add)
#	tool  a  command  name            a positional argument
# Long aliases come from the DESCRIPTION: ".It Fl w Ar s , Fl -wait".
function unesc(s) { gsub(/\\/, "", s); gsub(/'/, "", s); return s }
function flagname(i) {
	if ($i == "Fl")
		return "--" unesc($(i + 1))
	return "-" unesc($i)
}
# Facts in the order first seen; an option's argument, once known, stays.
function fact(t, kind, cmd, word, arg,    key) {
	key = t "\t" kind "\t" cmd "\t" word
	if (!(key in val))
		order[++nout] = key
	if (!(key in val) || arg != "")
		val[key] = arg
}
function emit(kind, word, arg,    k, n, cs) {
	n = split(cmds, cs, " ")
	for (k = 1; k <= n; k++)
		fact(tool, kind, cs[k], word, arg)
}
function opt(name, arg) { emit("o", name, arg) }
FNR == 1 {
	tool = FILENAME; sub(/.*\//, "", tool); sub(/\.1$/, "", tool); syn = 0
	# What every tool takes (hv(7)), whatever its page spells out.
	fact(tool, "o", "*", "-c", "config"); fact(tool, "o", "*", "-v", "")
	fact(tool, "o", "*", "-q", ""); fact(tool, "o", "-", "-h", "")
	fact(tool, "o", "-", "-V", "")
}
/^\.Sh / { syn = ($2 == "SYNOPSIS"); next }
/^\.It Fl / {
	# ".It Fl w Ar seconds , Fl -wait ...": --wait is -w.
	for (i = 3; i < NF; i++)
		if ($i == "," && $(i + 1) == "Fl") {
			long = flagname(i + 2)
			if (long ~ /^--/)
				alias[tool, "-" unesc($3)] = long
			break
		}
	next
}
!syn { next }
$1 == ".Nm" { cmds = "-"; form = 1; ncm = 0 }
$1 == ".Pp" { cmds = "*"; form = 0; next }
{
	last = ""; justflag = 0
	for (i = 1; i <= NF; i++) {
		t = $i; sub(/^\./, "", t)
		if (t == "Fl" && i < NF) {
			last = flagname(i + 1)
			i += ($(i + 1) == "Fl") ? 2 : 1
			opt(last, "")
			lastarg[last] = ""
			justflag = 1
			continue
		}
		if (t == "|" && last != "" && i < NF && $(i + 1) !~ /^(Fl|Cm|Ar)$/) {
			last = "-" unesc($(i + 1))
			opt(last, "")
			i++
			continue
		}
		if (t == "Ar" && i < NF) {
			if (justflag)
				opt(last, unesc($(i + 1)))
			else
				emit("a", unesc($(i + 1)))
			justflag = 0; last = ""; i++
			continue
		}
		if (t == "Cm" && i < NF) {
			words = unesc($(i + 1)); i++
			if ($(i + 1) == "Ns" && $(i + 2) == "=") { words = words "="; i += 2 }
			while (i + 2 <= NF && $(i + 1) == "|" && $(i + 2) !~ /^(Fl|Cm|Ar)$/) {
				words = words "|" unesc($(i + 2)); i += 2
			}
			if (justflag) {
				opt(last, "=" words)
			} else if (form && ncm++ == 0) {
				cmds = words; gsub(/\|/, " ", cmds)
				n = split(cmds, cs, " ")
				for (k = 1; k <= n; k++)
					fact(tool, "c", "-", cs[k], "")
			} else {
				n = split(words, ws, "|")
				for (k = 1; k <= n; k++)
					emit("w", ws[k])
			}
			justflag = 0
			continue
		}
		if (t != "Op" && t != "Oo" && t != "Oc" && t != "Ns")
			justflag = 0
	}
}
END {
	for (k = 1; k <= nout; k++) {
		key = order[k]
		print key (val[key] == "" ? "" : "\t" val[key])
		split(key, f, "\t")
		if (f[2] == "o" && ((f[1], f[4]) in alias)) {
			lkey = f[1] "\to\t" f[3] "\t" alias[f[1], f[4]]
			if (!(lkey in val) && !seen[lkey]++)
				longs[++nlong] = lkey (val[key] == "" ? "" : "\t" val[key])
		}
	}
	for (k = 1; k <= nlong; k++)
		print longs[k]
}
