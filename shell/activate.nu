# blast: activate env '@NAME@' (written by blastctl; regenerated at every
# start, `vars` change and load). In nushell:   source .blast/bin/activate.nu
# (source, not `overlay use`: deactivate is a command that runs the
# deactivate hooks and restores PATH, PROMPT_COMMAND, PYTHONHOME and every
# variable the env set, exactly as before). Hooks: executables in
# hooks/{pre,post}-{activate,deactivate}.d/ run in name order, *.nu files
# there in a child nu (they cannot change this shell's environment).

@INCLUDE blast-lib.nu@
_blast_activate @DIR@ '@NAME@' @VARS@
hide _blast_activate
