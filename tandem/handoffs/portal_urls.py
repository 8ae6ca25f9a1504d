"""/portal/messages/…: the patient's message threads with their care team."""

from django.urls import path

from tandem.handoffs import portal_views

app_name = "portal_handoffs"
urlpatterns = [
    path("messages/", portal_views.threads, name="messages"),
    path("messages/new/", portal_views.new_thread, name="message_new"),
    path("messages/<int:thread_id>/", portal_views.thread, name="thread"),
    path("messages/<int:thread_id>/reply/", portal_views.reply, name="reply"),
]
