#!/usr/bin/perl
# usage: cyradm.pl PORT MECH|any USER PASSWORD
# What cyradm does before its first command, with Debian's Cyrus::IMAP
# (libcyrus-imap-perl, unchanged: Cyrus's own imclient over libsasl2):
# connect, authenticate (MECH, or "any": the server's whole list, from
# which the library chooses), then list the mailboxes. Prints them and
# exits 0, or says what failed and exits 1.
use strict;
use warnings;
use Cyrus::IMAP::Admin;

my ($port, $mech, $user, $pass) = @ARGV;
my $client = Cyrus::IMAP::Admin->new('127.0.0.1', $port, 0) or do { print "connect failed\n"; exit 1 };
my %args = (-user => $user, -password => $pass);
$args{-mechanism} = $mech if $mech ne 'any';
$client->authenticate(%args) or do { print "authenticate failed\n"; exit 1 };
my @boxes = $client->listmailbox('*');
$client->error and do { print "listmailbox failed: ", $client->error, "\n"; exit 1 };
print "mailboxes: ", join(' ', map { $_->[0] } @boxes), "\n";
exit 0;
