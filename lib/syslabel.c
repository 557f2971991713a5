#include <string.h>
#include <strings.h>

#include "syslabel.h"
#include "banned.h"

/*
 * The ids are the Gmail API's (users.labels); the names after them are
 * what Gmail's web interface shows for each (the categories as its tabs),
 * which Gmail also keeps from user labels.
 */
static const struct {
	const char *id;
	const char *names[3];
} sys[] = {
	{ "INBOX", { "Inbox" } },
	{ "SPAM", { "Spam" } },
	{ "TRASH", { "Trash", "Bin" } },
	{ "UNREAD", { "Unread" } },
	{ "STARRED", { "Starred" } },
	{ "IMPORTANT", { "Important" } },
	{ "SENT", { "Sent", "Sent Mail" } },
	{ "DRAFT", { "Drafts" } },
	{ "CHAT", { "Chats" } },
	{ "CATEGORY_PERSONAL", { "Personal", "Primary" } },
	{ "CATEGORY_SOCIAL", { "Social" } },
	{ "CATEGORY_PROMOTIONS", { "Promotions" } },
	{ "CATEGORY_UPDATES", { "Updates" } },
	{ "CATEGORY_FORUMS", { "Forums" } },
};

const char *
hv_syslabel_of(const char *name)
{
	size_t i, k;

	for (i = 0; i < sizeof sys / sizeof sys[0]; i++) {
		if (strcasecmp(name, sys[i].id) == 0)
			return sys[i].id;
		for (k = 0; k < 3 && sys[i].names[k] != NULL; k++)
			if (strcasecmp(name, sys[i].names[k]) == 0)
				return sys[i].id;
	}
	return NULL;
}

int
hv_syslabel_id(const char *id, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof sys / sizeof sys[0]; i++)
		if (strlen(sys[i].id) == n && memcmp(sys[i].id, id, n) == 0)
			return 1;
	return 0;
}
