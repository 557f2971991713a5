# bash completion for the hv tools: their commands, options, option values
# and team names.  What each tool takes is in _hv_spec, made from its
# manual page by scripts/completion/gen.
declare -gA _hv_spec

# The teams of the configuration the tool would read (hv.conf(5)).
_hv_teams()
{
	local conf=${HV_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/hv/hv.conf} i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -c ]] && conf=${COMP_WORDS[i + 1]}
	done
	[[ -r $conf ]] || conf=/etc/hv/hv.conf
	[[ -r $conf ]] && sed -n 's/^[[:space:]]*\[team "\([^"]*\)"\].*/\1/p' "$conf" 2>/dev/null
}

_hv()
{
	local tool=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} cmd=- prev= i
	local kind c w a skip= cmds= opts= words= files= arg=
	local spec=${_hv_spec[$tool]}
	COMPREPLY=()
	# The command: the first word the spec knows as one, past option values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -n $skip ]]; then skip=; continue; fi
		while IFS=$'\t' read -r kind c a arg; do
			[[ $kind == o && $a == "$w" && -n $arg ]] && skip=1
			[[ $kind == c && $a == "$w" && $cmd == - ]] && cmd=$w
		done <<<"$spec"
		[[ $cmd != - ]] && break
	done
	((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	while IFS=$'\t' read -r kind c a arg; do
		[[ $c == "$cmd" || $c == '*' ]] || continue
		case $kind in
		o) [[ " $opts " == *" $a "* ]] || opts+=" $a"
		   [[ $a == "$prev" && -n $arg ]] && w=$arg && skip=value ;;
		w) words+=" $a" ;;
		a) case $a in
		   *file*|in|out|*.json|rules|identity|path) files=1 ;;
		   esac ;;
		esac
		[[ $kind == c && $cmd == - ]] && cmds+=" $a"
	done <<<"$spec"
	if [[ $skip == value ]]; then
		case $w in
		=*) w=${w#=}; COMPREPLY=($(compgen -W "${w//|/ }" -- "$cur")) ;;
		team) COMPREPLY=($(compgen -W "$(_hv_teams)" -- "$cur")) ;;
		config|keyfile|key0|pubkey|identity|path|file|rules)
		      COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames ;;
		esac
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ $cmd == - ]]; then
		COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		[[ ${#COMPREPLY[@]} -eq 0 && -n $files ]] &&
		    COMPREPLY=($(compgen -f -- "$cur")) && compopt -o filenames
	elif [[ -n $words ]]; then
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace
	elif [[ -n $files ]]; then
		COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames
	fi
	return 0
}
