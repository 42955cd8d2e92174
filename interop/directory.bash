# shellcheck shell=bash
# The test directory the slapd scripts share (slapd.sh, pyldap.sh,
# syncrepl.sh): sourced after lib.sh, not a test itself.
#
#   slapd_conf_head    slapd.conf's global lines: the schemas, back_mdb,
#                      no SASL security properties, SASL identities mapped
#                      to uid=NAME,$PEOPLE, proxy authorization allowed by
#                      the target's authzFrom
#   slapd_conf_db DIR  the first lines of the database section: mdb in DIR,
#                      suffix $BASE, its rootdn
#   directory_ldif N   the suffix $BASE, $PEOPLE, and N entries of 400 bytes
#                      under it (a search moves them through the layer);
#                      the scripts add their users after them
BASE=dc=example,dc=com
PEOPLE=ou=people,$BASE

slapd_conf_head() {
    printf 'include /etc/ldap/schema/%s.schema\n' core cosine nis inetorgperson
    cat <<EOF
modulepath /usr/lib/ldap
moduleload back_mdb
sasl-secprops none
authz-policy from
authz-regexp "^uid=([^,]*),(cn=[^,]*,)?cn=[^,]*,cn=auth$" "uid=\$1,$PEOPLE"
EOF
}

slapd_conf_db() {
    printf 'database mdb\nmaxsize 104857600\nsuffix "%s"\nrootdn "cn=admin,%s"\ndirectory %s\n' "$BASE" "$BASE" "$1"
}

directory_ldif() {
    local i pad
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n' "$BASE"
    printf 'dn: %s\nobjectClass: organizationalUnit\nou: people\n\n' "$PEOPLE"
    pad=$(printf '%0400d' 0)
    for i in $(seq "$1"); do
        printf 'dn: cn=bulk%s,%s\nobjectClass: person\ncn: bulk%s\nsn: S\ndescription: %s\n\n' "$i" "$PEOPLE" "$i" "$pad"
    done
}
